// Placement of graph nodes on the NPU's units, before anything is emitted: each node is
// classified (what unit could run it, or why none can), then nodes are grouped into hardware
// layers. A group starts at a convolution (or a fully-connected Gemm/MatMul with constant
// weights), an SDP operation, a pooling, an LRN, a view, a concat or a host op; in fused mode
// the group then absorbs the single-consumer chain that follows, as NVDLA runs it on the fly:
//   conv -> up to sdp.max_stages SDP ops (one LUT at most) -> pooling
// (a BatchNormalization after a Conv or Gemm was already folded into it by the graph pass
// frontend::fold_batchnorm; one it could not fold is an SDP scale + bias, two stages).
// A fused element-wise op reads its second operand from memory, so that operand must be produced
// by a layer issued before the group's first node.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "frontends/onnx/graph.h"
#include "isa/npu/npu_spec.h"

namespace xpusim::lower::npu {

using frontend::Graph;
using frontend::Node;

enum class NodeKind {
    Conv,       // Conv with constant weights
    Fc,         // Gemm / MatMul with a constant weight matrix: a 1x1 conv over rows
    BatchNorm,  // an SDP scale + bias (the graph pass folds those that follow a conv)
    Act,        // Relu, Clip, LeakyRelu, PRelu: SDP ALU
    Lut,        // Sigmoid, Tanh, ...: SDP lookup table
    Eltwise,    // Add/Sub/Mul/Max/Min of two activations (one may be per channel): SDP + RDMA
    ConstOp,    // Add/Sub/Mul/Div/Max/Min with a scalar or per-channel constant: SDP ALU
    Pool,       // MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool: PDP
    Lrn,        // LRN: CDP
    View,       // Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout
    Concat,     // channel concat
    RowSlice,   // Slice of rows along the outermost axis: a BDMA copy from an offset
    Host,
};

/// @brief Whether `n` is a Slice of whole rows along the outermost axis (constant bounds, step
/// 1): contiguous in memory, so BDMA copies it from an offset. `first_row`: where it starts.
bool leading_axis_slice(const Graph& g, const Node& n, int64_t* first_row = nullptr);

struct NodeClass {
    NodeKind kind = NodeKind::Host;
    std::string reason;  // for host: why the NPU cannot run it
    int main_input = 0;  // Eltwise/ConstOp: the full-shape activation input
};

enum class GroupKind { Conv, Sdp, Pdp, Cdp, View, Concat, Bdma, Host };

struct Group {
    GroupKind kind = GroupKind::Host;
    std::vector<int> nodes;  // graph node indices, in chain order
    std::string output;      // the value the group writes to memory
};

struct GraphPlan {
    std::vector<NodeClass> classes;                     // per node
    std::vector<Group> groups;                          // in issue order
    std::vector<int> group_of;                          // per node
    std::map<std::string, int> producer;                // value -> node index
    std::map<std::string, std::vector<int>> consumers;  // value -> node indices
};

/// @brief Classifies and groups every node of `graph` for `spec` (lower.fuse decides fusion).
GraphPlan plan_graph(const Graph& graph, const isa::npu::NpuSpec& spec);

/// @brief Whether value `v` (the running chain value) may enter node `n` as its main input.
bool chain_input_ok(const Graph& g, const Node& n, const NodeClass& c, const std::string& v);

/// @brief True when the shape is a per-channel broadcast of a rank-`rank` NCHW tensor with `c`
/// channels ([C,1,1], [1,C,1,1], ...), or a single element.
bool per_channel_shape(const sim::Shape& shape, int64_t rank, int64_t c);

/// @brief (pixels, channels) of a logical tensor in the NPU layout (channel axis 1, or last
/// for channel-last Gemm/MatMul tensors).
std::pair<int64_t, int64_t> layout_of(const sim::Shape& shape, bool channel_last);

}  // namespace xpusim::lower::npu
