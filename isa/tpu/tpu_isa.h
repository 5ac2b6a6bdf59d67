// The TPU's instruction set and Program: what the lowering emits and the model executes.
//
// TPU v1-style CISC instructions, each covering a whole tile of work:
//   RHM  Read_Host_Memory   host -> unified buffer (an input tensor)
//   WHM  Write_Host_Memory  unified buffer -> host (an output tensor)
//   RW   Read_Weights       weight memory (DRAM or CMEM) or the UB -> an MXU's weight FIFO, one
//                           tile of up to rows x cols operands; completes when the tile is queued
//   MMC  MatrixMultiply/Convolve  stream rows [m0, m1) of a layer's input through the MXU
//                           holding weight tile (k, n), into accumulators (accumulate or overwrite)
//   ACT  Activate           accumulators rows [m0, m1), columns [n0, n1) -> UB, with the fused
//                           function and requantization
//   VEC  vector unit        element-wise, pooling, normalization, softmax, data movement
//   DMA                     DRAM <-> UB transfers: activations spilled when the UB is too small
//   HOST                    a layer computed by the host, with its transfers over the link
//   SYNC                    waits for the instructions it names (TPU v1's explicit sync)
// Every instruction lists the earlier instructions it must wait for (`after`); units run their
// own instructions in order, so overlap (weight prefetch, double buffering) and stalls come out
// of the simulation.
//
// Text form (`xpusim lower --asm`), one item per line:
//   .spec mxu.rows=256                  one line per Spec field: the chip it was lowered for
//   .buffer id=3 name="conv1" format=int8 scale=0.0123 space=ub addr=4096 shape=1x64x112x112
//   .layer id=0 name="Conv_0" op=Conv kind=mxu in=1 out=3 batch=1 groups=1 M=12544 K=147 N=64 ...
//   12: MMC layer=0 mxu=0 m=0:4096 k=0:147 n=0:64 g=0 b=0 acc=0 after=11
// The memory image (weights, biases, scales) and the fp32 functions bound to vector and host
// layers are not part of the text: a program read back runs timing-only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "isa/tpu/tpu_spec.h"
#include "sim/compute/conv2d.h"
#include "sim/runtime/host.h"
#include "sim/runtime/program.h"
#include "sim/tensor/tensor.h"

namespace xpusim::isa::tpu {

enum class Opcode { RHM, WHM, RW, MMC, ACT, VEC, DMA, HOST, SYNC };
const char* opcode_name(Opcode op);

// How a buffer's elements are held: int8 with a scale, bf16, or fp32. Tensors that are not
// floating point in the graph (token ids, masks) are held as-is in their own type.
enum class StorageFormat { Int8, BFloat16, Float32 };
enum class MemorySpace { UnifiedBuffer, Dram, Cmem, Host };
const char* storage_format_name(StorageFormat f);
const char* memory_space_name(MemorySpace s);

/// A tensor in one of the chip's memories.
struct Buffer {
    int id = 0;
    std::string name;
    sim::Shape shape;
    StorageFormat format = StorageFormat::Float32;
    float scale = 1.0f;  // int8: real = scale * q (symmetric)
    MemorySpace space = MemorySpace::UnifiedBuffer;
    uint64_t address = 0;
    sim::DType source_dtype = sim::DType::Float32;  // the graph's type (ints pass through)
    int alias_of = -1;  // a view (reshape) of another buffer's bytes: no storage of its own

    int64_t numel() const { return sim::shape_numel(shape); }
    uint64_t bytes() const;
};

enum class ActivationFn { None, Relu, Clip };

/// A GEMM the MXUs run, per batch element b and group g:
///   out[b, g] (M x N) = act(in[b, g] (M x K) * W[g] (K x N) + bias[g])
/// For convolutions `in` is the im2col view of the input (the MXU reads the UB in convolution
/// order); for MatMul of two activations W comes from a UB buffer instead of weight memory.
struct GemmLayer {
    int64_t batch = 1, groups = 1, M = 0, K = 0, N = 0;
    bool is_conv = false;
    sim::Conv2dShape conv;
    // Depthwise-style groups (K and N per group smaller than the array) are packed
    // block-diagonally: `pack` groups share one fold (a K*pack x N*pack tile, mostly zeros).
    int64_t pack = 1;
    int weight_buffer = -1;          // -1: constant weights in the memory image; else a UB buffer
    bool weight_transposed = false;  // UB weights stored N x K (e.g. K^T in attention)
    ActivationFn act = ActivationFn::None;
    float clip_lo = 0, clip_hi = 0;
    MemorySpace weight_source = MemorySpace::Dram;
};

struct Layer {
    enum class Kind { Mxu, Vector, Host, View };
    int id = 0;
    std::string name;  // the graph node (the first, when fused)
    std::string op_type;
    Kind kind = Kind::Vector;
    std::vector<int> inputs, outputs;  // buffer ids
    GemmLayer gemm;                    // Kind::Mxu
    int64_t elements = 0;              // Kind::Vector: elements processed
    int64_t ops_per_element = 1;       //   and operations on each
    uint64_t macs = 0;
    int host_call = -1;  // Kind::Host: index into TpuProgram::host_calls
    struct FusedNode {
        std::string name, op_type, reason;
    };
    std::vector<FusedNode> fused;  // graph nodes folded into this layer (BN, ReLU, ...)
};

struct Instruction {
    Opcode op = Opcode::SYNC;
    int id = 0;
    int layer = -1;
    std::vector<int> after;
    int mxu = 0;
    int64_t m0 = 0, m1 = 0, k0 = 0, k1 = 0, n0 = 0, n1 = 0;
    int64_t group = 0, batch = 0;
    bool accumulate = false;
    int buffer = -1;  // RHM/WHM/DMA: the buffer moved
    uint64_t bytes = 0;
    uint64_t address = 0;
    MemorySpace source = MemorySpace::Dram;
    MemorySpace destination = MemorySpace::UnifiedBuffer;  // DMA only
};

/// Constant weights of one MXU layer, already in the MXU's format (int8 values or bf16-rounded
/// floats, held as floats), per group a K x N row-major matrix, with per-column scales (int8)
/// and an fp32 bias per output channel.
struct WeightImage {
    std::vector<std::vector<float>> per_group;
    std::vector<float> scales;  // int8: one per output column (per channel) or one
    std::vector<float> bias;    // groups * N, may be empty
};

/// An fp32 function the lowering binds to a vector or host layer: inputs and outputs are
/// dequantized tensors; the unit rounds results into its storage format.
using LayerFunction = std::function<std::vector<sim::Tensor>(const std::vector<sim::Tensor>&)>;

class TpuProgram : public sim::Program {
  public:
    std::string target() const override { return "tpu"; }
    std::string to_asm() const override;
    /// @brief Reads the text form back (memory image and functions empty).
    static TpuProgram from_asm(const std::string& text);

    TpuSpec spec;  // the chip this program was lowered for
    std::vector<Buffer> buffers;
    std::vector<Layer> layers;
    std::vector<Instruction> instructions;
    std::map<int, WeightImage> weights;        // layer id -> image
    std::map<int, LayerFunction> functions;    // vector layer id -> fp32 implementation
    std::vector<sim::HostCall> host_calls;     // the host layers' work (Layer::host_call)
    std::map<std::string, int> graph_inputs;   // graph input name -> buffer
    std::map<std::string, int> graph_outputs;  // graph output name -> buffer
};

}  // namespace xpusim::isa::tpu
