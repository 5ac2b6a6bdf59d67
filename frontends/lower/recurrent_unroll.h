// Unrolls LSTM, GRU and RNN into the primitive ops every target already maps, as the TPU, NPU
// and GPU compilers do for a recurrence of known length: per direction and gate, one GEMM over
// the whole sequence for the input projection (X [T*B, I] x W_g^T, bias W_b + R_b folded into a
// constant added there), then per time step the recurrent GEMM h_{t-1} x R_g^T, the Adds, the
// gate activations, the element-wise Muls and Clip, in step order, so each step waits for the one
// before it. Y, Y_h and Y_c are Concats and Reshapes of the per-step states. Constant initial
// states (absent ones are zeros) are folded into the first step. The numbers match the node's
// reference kernel up to fp32 rounding.
#pragma once

#include <string>
#include <vector>

#include "frontends/onnx/graph.h"

namespace xpusim::lower {

/// A recurrent node the pass left in the graph (it then runs on the host), and why.
struct RecurrentKept {
    std::string node;
    std::string reason;
};

/// @brief Rewrites every LSTM/GRU/RNN node of `graph` whose sequence length, weights and
/// attributes the unrolled form can express. Each removed node is recorded in graph.folded under
/// its first input-projection GEMM; new nodes are named "<node>[/fwd|/bwd]/t<time>/<what>".
/// Nodes it cannot unroll (weights that are activations, sequence_lens shorter than T, an
/// unknown activation) stay, listed in the result with the reason.
std::vector<RecurrentKept> unroll_recurrent(frontend::Graph& graph);

/// @brief Why unroll_recurrent leaves `node` in `graph`; empty when it unrolls it or when the
/// node is not LSTM/GRU/RNN. A lowering gives it as the reason of the node's host placement.
std::string recurrent_kept_reason(const frontend::Graph& graph, const frontend::Node& node);

}  // namespace xpusim::lower
