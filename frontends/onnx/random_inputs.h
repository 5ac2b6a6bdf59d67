// Inputs drawn from a seed for the graph inputs the user did not give.
#pragma once

#include <cstdint>

#include "frontends/onnx/executor.h"

namespace xpusim::frontend {

/// @brief For every graph input missing from `given`, a tensor of its bound type and shape:
/// floats from N(0, 1); integers uniform in [0, bound), where bound is the smallest size of the
/// axis they index when a Gather/GatherElements/Embedding-like use consumes them (token ids stay
/// inside the vocabulary), else 10; bools fair coins. Deterministic in `seed`.
TensorMap make_random_inputs(const Graph& graph, uint64_t seed, const TensorMap& given = {});

}  // namespace xpusim::frontend
