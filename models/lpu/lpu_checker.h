// The LPU's schedule checker. The hardware has no interlocks, so the model does not wait for
// data: it executes the compiler's schedule and checks, for every instruction (a Repeat as one
// arithmetic sequence of issues, in closed form):
//   - streams: a vector written to stream s at slice position p on cycle t lies on the diagonal
//     t - T(p) (eastward; t + T(p) westward), T(x) = floor(x / slices_per_hop) x hop_cycles, and
//     passes position x on cycle diagonal + T(x). Two producers on one stream, position and
//     diagonal write one register in one cycle: a conflict. A consumer at x on cycle t reads the
//     vector of the last producer upstream on its diagonal (a unit reads the register arriving at
//     its slice before writing the one leaving it): it must be the producer it expects, and no
//     other producer strictly between them may share any of its diagonals (an overwrite);
//   - MEM: per slice and cycle at most one read and one write, on different banks;
//   - queues: one issue per queue per cycle (a MEM slice's: one read and one write);
//   - Sync/Notify: every Sync has its Notify, and the queue issues nothing after a Sync before
//     the Notify's cycle; every Notify is awaited;
//   - Send/Receive: every Send has one Receive on its peer, no earlier than the transfer takes
//     (bytes over one link + hop latency), and a link carries one transfer at a time.
// A violation is a sim::ScheduleError naming the chip, queue, instruction, cycle and stream.
#pragma once

#include <cstdint>
#include <map>
#include <tuple>
#include <vector>

#include "isa/lpu/lpu_program.h"

namespace xpusim::models::lpu {

using isa::lpu::Instr;
using isa::lpu::LpuProgram;
using isa::lpu::LpuSpec;

using StreamKey = std::tuple<int, int, int>;  // chip, direction, stream register

/// An arithmetic sequence of cycles: first, first + stride, ..., n terms.
struct Seq {
    int64_t first = 0, stride = 1, n = 1;
    int64_t last() const { return first + (n - 1) * stride; }
};
/// @brief Whether two sequences share a term (closed form: extended Euclid, no unrolling).
bool intersect(const Seq& a, const Seq& b);
/// @brief Whether every term of `inner` is a term of `outer`.
bool covers(const Seq& outer, const Seq& inner);

using isa::lpu::busy_cycles;
using isa::lpu::output_latency;

class ScheduleChecker {
  public:
    explicit ScheduleChecker(const LpuProgram& p);
    /// @brief Records instruction `index` (called as it issues, in simulated time).
    void record(std::size_t index);
    /// @brief Runs every check over what was recorded; throws sim::ScheduleError.
    void check() const;

  private:
    struct Access {
        std::size_t instr;
        int64_t position;
        Seq diagonals;
    };
    [[noreturn]] void fail(std::size_t instr, const std::string& stream, const std::string& what) const;
    int64_t travel(int64_t position) const;
    Seq diagonals(const Instr& i, int64_t cycle_offset, isa::lpu::Dir dir, int64_t position) const;
    void check_streams() const;
    void check_mem() const;
    void check_queues() const;
    void check_sync() const;
    void check_c2c() const;

    const LpuProgram& m_program;
    std::vector<std::size_t> m_recorded;
    std::map<StreamKey, std::vector<Access>> m_writers;
    std::vector<std::tuple<StreamKey, Access, int64_t, int>> m_readers;  // key, access, expected tag, operand
};

}  // namespace xpusim::models::lpu
