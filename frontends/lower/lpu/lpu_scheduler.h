// The LPU compiler's static scheduler: a list scheduler over the dependence graph with a
// resource reservation table. Every resource is a set of reserved cycle intervals:
//   queue ports   "q/<queue>/<port>"      the cycles a queue issues in (a MEM slice issues one
//                                         read and one write per cycle: ports r and w)
//   MEM banks     "b/<slice>/<bank>"      a read and a write on one bank never share a cycle
//   streams       "s/<dir>/<id>"          the diagonals a stream register carries (lpu_checker.h)
// A chain of instructions (MEM Read -> [SXM] -> MXM or VXM -> MEM Write) is placed at the first
// cycle where all its windows are free; its stages are spaced by the units' latencies and the
// stream travel between their slices, so every consumer meets its vector exactly. Reservations
// are whole intervals (a Repeat's first to last issue), never looser than the checker's exact
// arithmetic sequences: a schedule from here passes the checker by construction.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "isa/lpu/lpu_program.h"

namespace xpusim::lower::lpu {

using isa::lpu::Dir;
using isa::lpu::Instr;
using isa::lpu::LpuProgram;
using isa::lpu::LpuSpec;
using isa::lpu::Op;

/// Reserved half-open intervals [start, end).
class Intervals {
  public:
    /// @brief The end of the first reserved interval overlapping [a, b), none when free (ends
    /// can be negative: stream diagonals are).
    std::optional<int64_t> conflict_end(int64_t a, int64_t b) const;
    void add(int64_t a, int64_t b);

  private:
    std::map<int64_t, int64_t> m_spans;  // start -> end, disjoint
};

/// One stage of a chain: an instruction on `queue`, consuming the previous stage's vectors.
struct Stage {
    std::string queue;
    Op op = Op::Nop;
    int64_t length = 320;           // elements per vector
    int out_width = 1;              // streams its output takes (bytes per element); 0: none
    int64_t address = 0;            // MEM
    int64_t repeat_divisor = 1;     // issues repeat / divisor times, every stride x divisor (a Write of pooled outputs)
    int64_t offset = 0;             // ... starting this many of the chain's issues later
};

/// A placed chain: the cycle its first stage issues and the cycle its last stage ends.
struct Placed {
    int64_t start = 0, end = 0;
    std::vector<int64_t> issues;  // each stage's first issue cycle
};

class Scheduler {
  public:
    Scheduler(const LpuSpec& spec, LpuProgram& program, int chip) : m_spec(spec), m_program(program), m_chip(chip) {}

    /// @brief Places `stages` (each consuming the one before) repeated `repeat` times every `stride`
    /// cycles, no earlier than `ready`; optionally a second producer chain `side` (a Read) whose
    /// vectors meet the stage `join` as its second input; and stage `gate` no earlier than
    /// `gate_cycle` (an ABC after its plane's IW: the Reads feeding it may issue before). Emits
    /// the instructions.
    Placed place(const std::vector<Stage>& stages, int64_t repeat, int64_t stride, int64_t ready,
                 const std::string& node, const std::vector<Stage>& side = {}, std::size_t join = 0,
                 std::size_t gate = 0, int64_t gate_cycle = INT64_MIN);
    /// @brief LW of one MXM plane's weights from 32 MEM slices over `vectors` cycles (their Reads no
    /// earlier than `ready`, the LW no earlier than `buffer_free`: the plane's load buffer is free
    /// after its previous IW), then IW at or after `install_after`; returns the cycle the IW issues.
    int64_t install(const std::string& plane, const std::vector<int>& slices, int64_t vectors, int64_t ready,
                    int64_t buffer_free, int64_t install_after, const std::string& node);
    /// @brief How many of `slices` (a prefix) an install of a tile of `tile_vectors` 320-byte rows
    /// should stream from: the width whose LW would end first.
    std::size_t install_width(const std::string& plane, const std::vector<int>& slices, int64_t tile_vectors,
                              int64_t ready, int64_t buffer_free, const std::string& node) const;
    /// @brief An ICU Nop of `cycles` (a host call's time) no earlier than `ready`; returns its end.
    int64_t host_gap(int64_t cycles, int64_t ready, const std::string& node);
    /// @brief C2C Send of `bytes` to `peer` and the peer's Receive (on its own scheduler).
    int64_t send(Scheduler& peer_sched, uint64_t bytes, int64_t ready, const std::string& node);

    int64_t position(const std::string& queue) const;
    std::string mem_queue(int slice) const;
    int chip() const { return m_chip; }

  private:
    /// The first cycle an LW of `vectors` from `slices` fits (its queue, the slices' read ports and
    /// bank 0, and `slices.size()` adjacent stream registers), and those registers' first id.
    int64_t lw_cycle(const std::string& plane, const std::vector<int>& slices, int64_t vectors, int64_t ready,
                     int64_t buffer_free, int& id, const std::string& node) const;
    int64_t travel(int64_t from, int64_t to) const;
    int64_t diagonal(int64_t t_out, int64_t pos, Dir d) const;
    /// Picks `width` adjacent free stream registers for diagonals [d0, d1), avoiding `taken` (the
    /// chain's own earlier hops) too; else the smallest shift that could free some.
    bool try_streams(int64_t d0, int64_t d1, Dir dir, int width, int& id, int64_t& bump,
                     const std::vector<std::tuple<std::string, int64_t, int64_t>>& taken = {}) const;

    const LpuSpec& m_spec;
    LpuProgram& m_program;
    int m_chip;
    std::map<std::string, Intervals> m_res;
    mutable std::map<std::string, int64_t> m_positions;  // queue -> slice position, parsed once
    int64_t m_next_tag = 1;
    int64_t m_next_transfer = 1;
};

}  // namespace xpusim::lower::lpu
