// Internal to the GPU lowering: the state shared by placement (gpu_lowering.cpp), the GEMM
// kernels (gpu_gemm.cpp), the other kernel templates (gpu_kernels.cpp) and the numerics in the
// run's precision (gpu_numerics.cpp).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "frontends/lower/calibration.h"
#include "frontends/lower/lowering.h"
#include "frontends/onnx/passes.h"
#include "isa/gpu/gpu_program.h"
#include "sim/compute/conv2d.h"

namespace xpusim::lower::gpu {

using namespace isa::gpu;
using frontend::Node;

struct GpuLowering {
    const Graph& graph;
    const GpuSpec& spec;
    GpuProgram& program;
    const frontend::ValueReaders readers;
    bool numerics = true;                     // false for --timing-only: no functions, no constants
    std::map<std::string, ValueRange> ranges;  // int8 / fp8: calibrated activation ranges
    std::map<std::string, int> buffer_of;     // graph value -> buffer
    std::set<std::string> fused_nodes;        // computed by an earlier kernel
    std::vector<NodePlacement> placements;
    std::vector<sim::Problem> problems;
    std::vector<std::pair<int, int>> views;  // (after kernel, buffer): a view's followup reads it

    GpuLowering(const Graph& g, const GpuSpec& s, GpuProgram& p);

    /// @brief The buffer of a graph value (created on first use; constants are weights).
    int buffer(const std::string& value);
    /// @brief A scratch buffer (split-K partial sums, ...).
    int workspace(const std::string& name, uint64_t bytes);
    /// @brief Bytes of `value` as the GPU stores it in the run's precision.
    uint64_t bytes_of(const std::string& value) const;
    /// @brief The bytes of one element of activations in the run's precision.
    int64_t element_bytes() const;
    /// @brief Appends a kernel serving `nodes` and returns it (its id set).
    Kernel& add_kernel(const std::string& name, const std::vector<std::string>& nodes);
    std::size_t index_of(const Node& n) const { return static_cast<std::size_t>(&n - graph.nodes.data()); }
    /// @brief The node that computes `value`; null for inputs and constants.
    const Node* producer(const std::string& value) const;
    void place(const Node& n, sim::Placement p, const std::string& unit, const std::string& reason);

  private:
    std::map<std::string, std::size_t> m_producer;  // value -> index of the node computing it
};

/// An attention head as the lowering finds it: [Q x c, K x c] -> MatMul(Q, K^T) -> [Mul/Div by
/// a constant] -> [Add a mask] -> Softmax(keys) -> [Where(IsNaN(P), 0, P)] -> MatMul(., V).
/// Exporters decompose PyTorch's
/// scaled_dot_product_attention so (Q and K each scaled by sqrt(scale)); PyTorch launches it as
/// one flash or memory-efficient attention kernel.
struct AttentionMatch {
    std::vector<const Node*> layout;     // the heads' permutes of Q, K, V (Transposes and views between)
    std::vector<const Node*> prescales;  // Muls of Q or K by a scalar constant, read only by the product
    std::vector<const Node*> chain;      // QK MatMul, [scale], [mask Add], Softmax, [IsNaN, Where], PV MatMul
    const Node* softmax = nullptr;
    std::string q, k, v, mask, out;      // the values the kernel reads (mask: empty if none) and writes
};
/// @brief The attention head whose QK MatMul is `n`, in fp16/bf16; nullopt (with `why`) if none.
std::optional<AttentionMatch> match_attention(const GpuLowering& L, const Node& n, std::string& why);
/// @brief Marks the Q and K scales and the operand permutes of every attention head fused,
/// before the nodes are lowered in order (they precede the head they fold into).
void fold_attention_operands(GpuLowering& L);
/// @brief Binds kernel `kid`'s numbers for a kernel serving `nodes` (in order): each node's
/// function; the values only the group reads are released after it (kept for the per-op
/// comparison as any released value is).
void bind_group(GpuLowering& L, int kid, const std::vector<const Node*>& nodes);

/// @brief GELU as exporters write it, x * 0.5 * (1 + erf(x / sqrt 2)): Div(x, sqrt 2) (or Mul by
/// 1 / sqrt 2) -> Erf -> Add(1) -> Mul(0.5) and Mul(x) in either order. Its nodes, head first;
/// empty if `head` does not start one. PyTorch launches F.gelu as one element-wise kernel.
std::vector<const Node*> match_gelu(const GpuLowering& L, const Node& head);
/// @brief Marks every GELU's nodes after its head fused, before the nodes are lowered in order.
void fold_gelu(GpuLowering& L);

/// @brief Tries Conv / Gemm / MatMul (and an attention MatMul -> Softmax -> MatMul) as GEMM,
/// GEMV, direct or flash-attention kernels; false (with `why`) when it must go elsewhere.
bool lower_gemm_node(GpuLowering& L, const Node& n, std::string& why);
/// @brief Every other op: element-wise, BatchNorm, softmax, LayerNorm, pooling, reductions,
/// copies, and a generic SIMT kernel costed from the op's FLOPs and bytes.
void lower_simt_node(GpuLowering& L, const Node& n);

/// @brief A cuDNN-style layout transpose (nchwToNhwc / nhwcToNchw) of `value`'s bytes, charged
/// to `node`.
void add_layout_transpose(GpuLowering& L, const Node& node, const std::string& value, const std::string& name);

// ---- numerics (gpu_numerics.cpp) ----------------------------------------------------------

/// @brief Rounds an fp32 tensor's values to what `p` stores (fp16, bf16; fp32 and tf32 keep
/// fp32; int8 and fp8 keep the higher-precision value, their storage is modelled at the GEMMs).
void round_to_precision(sim::Tensor& t, Precision p);
/// @brief x rounded to tf32 (10 mantissa bits, round to nearest even).
float round_tf32(float x);
/// @brief The kernel function of an ordinary node: its reference kernel on the stored values,
/// outputs rounded to the precision.
KernelFunction node_function(const GpuLowering& L, const Node& n);
/// A GEMM's numerics: C[b] (M x N) = A[b] (M x K) x B (K x N), operands in `dtype`, products
/// accumulated in fp32 one K-tile of `tile_k` at a time (the order the kernel's K-loop uses),
/// int8 exactly in int32 (per-tensor A scale, per-column B scales), fp8 with Hopper's limited
/// accumulation (14 bits per 32 products, promoted to fp32 every 128: DeepSeek-V3, §3.3.2).
struct GemmNumerics {
    Precision dtype = Precision::Fp32;
    int64_t tile_k = 32;
    float a_scale = 1, b_scale_default = 1;
    std::vector<float> b_scales;  // int8/fp8: per column of B
};
/// @brief C (M x N, fp32) for row-major A (M x K) and B (K x N).
void gemm(const GemmNumerics& g, const float* a, const float* b, float* c, int64_t M, int64_t N, int64_t K);
/// A convolution's numbers, per image and group in the kernel's precision and K-tile order:
/// fp32 / tf32 / fp16 / bf16 out (Ng x P*Q, NCHW) = W (Ng x Cg*R*S) x the im2col-by-tap matrix
/// (Cg*R*S x P*Q); int8 / fp8 out^T = im2col (P*Q x Cg*R*S) x W^T, activations as A. Then the
/// bias, and the output rounded to `output`.
struct ConvNumerics {
    sim::Conv2dShape shape;
    std::vector<GemmNumerics> gemm;          // per group
    sim::Tensor weights;                     // fp32..bf16: O x Cg*R*S as stored (rounded), fp32
    std::vector<std::vector<float>> b_mats;  // int8 / fp8: per group Cg*R*S x Ng, unrounded
    std::vector<float> bias;
    Precision output = Precision::Fp32;
};
/// @brief The output (N x O x P x Q, fp32) of the convolution on the NCHW input `x` (fp32).
sim::Tensor conv_numerics(const ConvNumerics& cn, const sim::Tensor& x);

}  // namespace xpusim::lower::gpu
