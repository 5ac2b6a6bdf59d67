#include "frontends/onnx/random_inputs.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace xpusim::frontend {

namespace {

// The largest valid index for an integer input: the smallest indexed-axis size over the
// Gather-like nodes that read it as indices.
int64_t index_bound(const Graph& graph, const std::string& input) {
    int64_t bound = -1;
    for (const Node& n : graph.nodes) {
        if ((n.op_type != "Gather" && n.op_type != "GatherElements") || n.inputs.size() < 2 ||
            n.inputs[1] != input)
            continue;
        const ValueInfo& data = graph.value(n.inputs[0]);
        if (!data.shape_known || data.shape.empty()) continue;
        int64_t axis = n.attr_int("axis", 0);
        if (axis < 0) axis += static_cast<int64_t>(data.shape.size());
        if (axis < 0 || axis >= static_cast<int64_t>(data.shape.size())) continue;
        const int64_t size = data.shape[axis];
        bound = bound < 0 ? size : std::min(bound, size);
    }
    return bound > 0 ? bound : 10;
}

// Box-Muller from a 64-bit engine: the same numbers on every platform, unlike
// std::normal_distribution whose algorithm the standard leaves open. The engine's draws are
// sequential; the log and cos of a block of them are not, so the block's values are computed
// in parallel (each from its own two draws: the numbers do not depend on the thread count).
void fill_standard_normal(std::mt19937_64& rng, double* p, int64_t n) {
    constexpr int64_t kBlock = int64_t{1} << 16;
    std::vector<uint64_t> draws(static_cast<std::size_t>(2 * std::min(n, kBlock)));
    for (int64_t b0 = 0; b0 < n; b0 += kBlock) {
        const int64_t count = std::min(kBlock, n - b0);
        for (int64_t i = 0; i < 2 * count; ++i) draws[static_cast<std::size_t>(i)] = rng();
#pragma omp parallel for schedule(static) if (count >= 4096)
        for (int64_t i = 0; i < count; ++i) {
            const double u1 = (static_cast<double>(draws[static_cast<std::size_t>(2 * i)] >> 11) + 1.0) * 0x1.0p-53;
            const double u2 = static_cast<double>(draws[static_cast<std::size_t>(2 * i + 1)] >> 11) * 0x1.0p-53;
            p[b0 + i] = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
        }
    }
}

}  // namespace

TensorMap make_random_inputs(const Graph& graph, uint64_t seed, const TensorMap& given) {
    TensorMap out = given;
    std::mt19937_64 rng(seed);
    for (const auto& name : graph.inputs) {
        if (given.count(name)) continue;
        const ValueInfo& v = graph.value(name);
        if (!v.shape_known)
            throw sim::ModelError("input '" + name + "' has no known shape: give it with --shape");
        Tensor f(DType::Float64, v.shape);
        double* p = f.data<double>();
        if (sim::is_float(v.dtype)) {
            fill_standard_normal(rng, p, f.numel());
        } else if (v.dtype == DType::Bool) {
            for (int64_t i = 0; i < f.numel(); ++i) p[i] = static_cast<double>(rng() & 1);
        } else {
            const auto bound = static_cast<uint64_t>(index_bound(graph, name));
            for (int64_t i = 0; i < f.numel(); ++i) p[i] = static_cast<double>(rng() % bound);
        }
        out[name] = f.cast(v.dtype);
    }
    return out;
}

}  // namespace xpusim::frontend
