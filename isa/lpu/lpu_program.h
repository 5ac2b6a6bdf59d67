// An LPU program: per chip, one timed instruction list per queue, in the TSP's instruction set,
// plus where every tensor sits in MEM. The compiler gives every instruction its issue cycle;
// nothing stalls, so the program's length is its latency.
//
// The chip along its east-west axis (slice positions, the unit a vector hops):
//   MXM.W (0) | SXM.W (1) | MEM.W43 .. MEM.W0 (2 .. 45) | VXM (46) | MEM.E0 .. MEM.E43 | SXM.E | MXM.E
// with mem.slices / 2 MEM slices per hemisphere. A vector written to stream s (east or west) at
// position p on cycle t passes position x on cycle t + |x - p| / slices_per_hop x hop_cycles:
// its "diagonal" t - |x - p| ... is fixed, so two vectors on one stream meet only if they share
// a diagonal. Each instruction's timing (issue to output on its stream, at its unit):
//   ICU   Nop n: n cycles; Sync b / Notify b: a barrier; Ifetch, Config: icu.dispatch_cycles
//   MEM   Read: mem.read_latency_cycles; Write: consumes its stream at issue; Gather, Scatter: as
//         Read / Write with an address stream
//   VXM   unary, binary, Convert, Relu: vxm.latency_cycles; Exp, TanH, RSqrt: vxm.transcendental_cycles
//   MXM   LW: weights in over the streams, IW: install (mxm.install_cycles); ABC: one vector in
//         per cycle (fp16: per mxm.fp16_vectors_per_cycle_divisor), its result out of the ACC
//         mxm.latency_cycles later; ACC: accumulate into the ACC
//   SXM   Shift, Permute, Distribute, Rotate: sxm.latency_cycles; Transpose: + its vectors
//   C2C   Send b bytes on the link to its peer (LpuSpec::c2c_route): the link busy b / bandwidth,
//         the Receive b / bandwidth + hops x c2c.hop_latency_ns later; one queue per link; Deskew
// "Repeat n,d" after an instruction issues it n times, d cycles apart (checked in closed form).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "isa/lpu/lpu_spec.h"
#include "sim/runtime/program.h"
#include "sim/tensor/tensor.h"

namespace xpusim::isa::lpu {

enum class Op {
    Nop, Sync, Notify, Ifetch, Config,              // ICU
    Read, Write, Gather, Scatter,                   // MEM
    Vunary, Vbinary, Convert, Relu, Tanh, Exp, Rsqrt,  // VXM
    LW, IW, ABC, ACC,                               // MXM
    Shift, Permute, Distribute, Rotate, Transpose,  // SXM
    Deskew, Send, Receive                           // C2C
};
const char* op_name(Op op);
Op op_from_name(const std::string& name);

/// Which queue group an op's queue belongs to ("MEM.E3" is a MEM queue).
enum class Unit { Icu, Mem, Vxm, Mxm, Sxm, C2c };
Unit unit_of(Op op);
const char* unit_name(Unit u);

enum class Dir { None, East, West };

/// A stream operand: registers [id, id + width) in direction dir (width = bytes per element).
struct StreamRef {
    Dir dir = Dir::None;
    int id = -1;
    int width = 1;
    bool valid() const { return dir != Dir::None && id >= 0; }
};

struct Instr {
    int chip = 0;
    std::string queue;     // "MEM.E3", "VXM", "MXM.W0", "SXM.E", "C2C", "ICU"
    int64_t cycle = 0;     // issue cycle (first repetition)
    Op op = Op::Nop;
    int64_t repeat = 1, stride = 1;  // Repeat n,d: n issues, d cycles apart
    StreamRef in, in2, out;          // consumed (one or two) and produced streams
    int64_t address = 0;             // MEM: word address in the slice (bank = address % mem.banks)
    int64_t length = 320;            // elements per vector (16 .. 320)
    int64_t count = 0;               // Nop: cycles; Sync/Notify: barrier id; Send/Receive: bytes
    int peer = -1, link = -1;        // Send/Receive: the other chip, the link
    int64_t tag = -1;                // the vector it produces (checking only), or a C2C transfer id
    int64_t expect = -1, expect2 = -1;  // the producer tags its inputs must come from
    std::string node;                // the ONNX node it serves
};

/// Where a tensor lives: contiguous words in one MEM slice of one chip (a tensor larger than a
/// slice is several entries).
struct Placement {
    std::string tensor;
    int chip = 0;
    int slice = 0;                   // 0 .. mem.slices - 1 (east hemisphere from slices / 2)
    uint64_t address = 0, bytes = 0;
    std::string kind = "act";        // weight | act | input | output | program
};

/// The numbers of one node, on values by ONNX name; bound by the lowering.
using NodeFunction = std::function<void(std::map<std::string, sim::Tensor>& values)>;

class LpuProgram : public sim::Program {
  public:
    std::string target() const override { return "lpu"; }
    std::string to_asm() const override;
    /// @brief Reads the text form back (no node functions: it runs timing-only).
    static LpuProgram from_asm(const std::string& text);

    LpuSpec spec;
    int chips = 1;
    std::vector<Instr> instructions;   // all chips and queues, sorted by (chip, cycle)
    std::vector<Placement> placements;
    /// Per node, its span and what bounds it (for stats): chip, first and last cycle.
    struct NodeSpan {
        std::string node, op_type, bound;
        int chip = 0;
        int64_t start = 0, end = 0;
        uint64_t macs = 0;
        double lane_utilization = 1;  // filled lanes of the vectors it streams
    };
    std::vector<NodeSpan> spans;
    std::vector<int64_t> stage_cycles;  // per chip: its pipeline stage's length
    std::vector<std::string> graph_inputs, graph_outputs;
    std::vector<std::pair<std::string, NodeFunction>> functions;  // in graph order
    std::map<std::string, sim::Tensor> constants;
};

/// @brief Cycles from an instruction's issue to its output vector on its stream, at its unit.
int64_t output_latency(const LpuSpec& spec, const Instr& i);
/// @brief Cycles from an instruction's (last) issue to the end of its work.
int64_t busy_cycles(const LpuSpec& spec, const Instr& i);

/// @brief The slice position of a queue on the chip's east-west axis (see above).
int64_t queue_position(const std::string& queue, int64_t mem_slices);

}  // namespace xpusim::isa::lpu
