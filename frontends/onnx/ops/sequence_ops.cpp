// Operators over sequences of elements or slices: Unique finds the distinct values (or slices
// along an axis), ReverseSequence reverses each batch entry's leading steps, TfIdfVectorizer
// counts the n-grams of integer token sequences that a pool names.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>
#include <string>

#include "frontends/onnx/ops/op_utils.h"

namespace xpusim::frontend::ops {
namespace {

// ---- Unique -------------------------------------------------------------------------------------

// Three-way comparison with NaN after every number and equal to itself (as numpy orders them).
template <class T>
int compare_values(T a, T b) {
    if constexpr (std::is_floating_point_v<T>) {
        const bool na = std::isnan(a), nb = std::isnan(b);
        if (na || nb) return na == nb ? 0 : (na ? 1 : -1);
    }
    return a < b ? -1 : (b < a ? 1 : 0);
}

// Without 'axis' the elements of the flattened input are compared; with it, the slices
// X[..., i, ...] along the axis, lexicographically in row-major order. Y holds the distinct ones,
// ascending (sorted = 1) or in order of first occurrence (sorted = 0); indices the position of
// each one's first occurrence, inverse_indices each input position's entry in Y, counts how often
// each occurs.
template <class T>
std::vector<Tensor> unique(const KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    const int64_t sorted = ctx.node.attr_int("sorted", 1);
    if (sorted != 0 && sorted != 1)
        ctx.fail("sorted must be 0 or 1, got " + std::to_string(sorted));
    const bool by_axis = ctx.node.has_attr("axis");
    const int64_t axis =
        by_axis ? normalize_axis(ctx.node.attr_int("axis", 0), x.rank(), ctx.node) : 0;
    const int64_t outer = by_axis ? dims_product(x.shape(), 0, axis) : 1;
    const int64_t n = by_axis ? x.dim(axis) : x.numel();
    const int64_t inner = by_axis ? dims_product(x.shape(), axis + 1, x.shape().size()) : 1;
    const T* px = x.data<T>();
    // Element k of slice i.
    auto at = [&](int64_t i, int64_t k) { return px[((k / inner) * n + i) * inner + k % inner]; };
    const int64_t len = outer * inner;
    auto compare = [&](int64_t i, int64_t j) {
        for (int64_t k = 0; k < len; ++k)
            if (const int c = compare_values(at(i, k), at(j, k))) return c;
        return 0;
    };
    // Slices in sorted order, equal ones in input order, so each run starts at its first
    // occurrence.
    std::vector<int64_t> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t i, int64_t j) { return compare(i, j) < 0; });
    std::vector<int64_t> first, counts, inverse(static_cast<std::size_t>(n));
    for (std::size_t s = 0; s < order.size(); ++s) {
        if (s == 0 || compare(order[s - 1], order[s]) != 0) {
            first.push_back(order[s]);
            counts.push_back(0);
        }
        inverse[order[s]] = static_cast<int64_t>(first.size()) - 1;
        ++counts.back();
    }
    const int64_t u = static_cast<int64_t>(first.size());
    if (sorted == 0) {
        // Renumber the distinct slices by first occurrence.
        std::vector<int64_t> by_first(static_cast<std::size_t>(u));
        std::iota(by_first.begin(), by_first.end(), 0);
        std::sort(by_first.begin(), by_first.end(),
                  [&](int64_t a, int64_t b) { return first[a] < first[b]; });
        std::vector<int64_t> rank_of(static_cast<std::size_t>(u));
        std::vector<int64_t> f2(static_cast<std::size_t>(u)), c2(static_cast<std::size_t>(u));
        for (int64_t j = 0; j < u; ++j) {
            rank_of[by_first[j]] = j;
            f2[j] = first[by_first[j]];
            c2[j] = counts[by_first[j]];
        }
        for (int64_t& v : inverse) v = rank_of[v];
        first = std::move(f2);
        counts = std::move(c2);
    }
    Shape y_shape = by_axis ? x.shape() : Shape{u};
    if (by_axis) y_shape[axis] = u;
    Tensor y(x.dtype(), y_shape);
    T* py = y.data<T>();
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t j = 0; j < u; ++j)
            for (int64_t i = 0; i < inner; ++i)
                py[(o * u + j) * inner + i] = px[(o * n + first[j]) * inner + i];
    return {y, Tensor::from_vector<int64_t>({u}, first), Tensor::from_vector<int64_t>({n}, inverse),
            Tensor::from_vector<int64_t>({u}, counts)};
}

std::vector<Tensor> compute_unique(const KernelContext& ctx) {
    std::vector<Tensor> out;
    dispatch_numeric(ctx.in(0).dtype(), ctx.node,
                     [&](auto tag) { out = unique<decltype(tag)>(ctx); });
    return out;
}

// Y's and the counts' lengths depend on the values, so shapes are known at load time only for a
// constant input.
XPUSIM_REGISTER_OP("Unique", OpKernel{[](InferContext& ctx) {
                                          const Tensor& x = ctx.constant_input(0);
                                          const std::vector<Tensor> out = compute_unique(
                                              KernelContext{ctx.node, ctx.opset, {&x}});
                                          for (std::size_t i = 0; i < out.size(); ++i)
                                              ctx.set_output(i, out[i].dtype(), out[i].shape());
                                      },
                                      compute_unique});

// ---- ReverseSequence ----------------------------------------------------------------------------

// X [time, batch, ...] (time_axis 0, batch_axis 1) or [batch, time, ...] (time_axis 1,
// batch_axis 0); sequence_lens [batch]. Batch entry b has its first sequence_lens[b] steps
// reversed and the rest copied.
XPUSIM_REGISTER_OP(
    "ReverseSequence",
    OpKernel{
        infer_same_as_input0,
        [](const KernelContext& ctx) {
            const Tensor& x = ctx.in(0);
            const Tensor& lens = ctx.in(1);
            const int64_t time_axis = ctx.node.attr_int("time_axis", 0);
            const int64_t batch_axis = ctx.node.attr_int("batch_axis", 1);
            if (!((time_axis == 0 && batch_axis == 1) || (time_axis == 1 && batch_axis == 0)))
                ctx.fail("time_axis and batch_axis must be 0 and 1 in some order, got " +
                         std::to_string(time_axis) + " and " + std::to_string(batch_axis));
            if (x.rank() < 2) ctx.fail("input must have rank >= 2, got " + describe_tensor(x));
            const int64_t batch = x.dim(batch_axis), steps = x.dim(time_axis);
            if (lens.rank() != 1 || lens.dim(0) != batch)
                ctx.fail("sequence_lens must be [" + std::to_string(batch) + "], got " +
                         describe_tensor(lens));
            const std::size_t es = sim::dtype_size(x.dtype());
            const std::size_t inner =
                static_cast<std::size_t>(dims_product(x.shape(), 2, x.shape().size())) * es;
            // Byte offset of (step t, batch entry b).
            auto offset = [&](int64_t t, int64_t b) {
                return static_cast<std::size_t>(time_axis == 0 ? t * batch + b : b * steps + t) *
                       inner;
            };
            Tensor y(x.dtype(), x.shape());
            for (int64_t b = 0; b < batch; ++b) {
                const int64_t len = lens.get_as_int64(b);
                if (len < 0 || len > steps)
                    ctx.fail("sequence_lens[" + std::to_string(b) + "] = " + std::to_string(len) +
                             " is outside [0, " + std::to_string(steps) + "]");
                for (int64_t t = 0; t < steps; ++t) {
                    const int64_t from = t < len ? len - 1 - t : t;
                    std::memcpy(bytes(y) + offset(t, b), bytes(x) + offset(from, b), inner);
                }
            }
            return std::vector<Tensor>{y};
        },
        /*widen_half=*/false});

// ---- TfIdfVectorizer ----------------------------------------------------------------------------

// The pool as a trie: an n-gram is the path of its n tokens from the root (node 0); a node that
// ends a pool n-gram of a counted length carries its output coordinate.
struct NgramNode {
    int64_t coordinate = -1;              // -1: no pool n-gram ends here
    std::map<int64_t, std::size_t> next;  // token -> child node
};

enum class TfIdfMode { TF, IDF, TFIDF };

struct TfIdfPlan {
    TfIdfMode mode = TfIdfMode::TF;
    int64_t min_len = 0, max_len = 0, max_skip = 0, out_size = 0;
    std::vector<double> weights;  // by output coordinate; empty: all 1
    std::vector<NgramNode> trie{NgramNode{}};
};

// ngram_counts[i] is where the (i+1)-grams start in the pool; the k-th n-gram of the whole pool
// (counting every length) lands at output coordinate ngram_indexes[k]. Only lengths in
// [min_gram_length, max_gram_length] are counted.
TfIdfPlan tfidf_plan(const Node& node) {
    TfIdfPlan p;
    if (node.has_attr("pool_strings"))
        throw sim::UnsupportedError(node.describe() + ": string pools (pool_strings)");
    const std::string mode = node.attr_string("mode", "");
    if (mode == "TF")
        p.mode = TfIdfMode::TF;
    else if (mode == "IDF")
        p.mode = TfIdfMode::IDF;
    else if (mode == "TFIDF")
        p.mode = TfIdfMode::TFIDF;
    else
        fail(node, "mode must be TF, IDF or TFIDF, got '" + mode + "'");
    p.min_len = node.attr_int("min_gram_length", 0);
    p.max_len = node.attr_int("max_gram_length", 0);
    p.max_skip = node.attr_int("max_skip_count", 0);
    if (p.min_len < 1 || p.max_len < p.min_len)
        fail(node, "gram lengths must satisfy 1 <= min_gram_length <= max_gram_length, got " +
                       std::to_string(p.min_len) + " and " + std::to_string(p.max_len));
    if (p.max_skip < 0 || p.max_skip > kMaxWindowAttr)
        fail(node, "max_skip_count " + std::to_string(p.max_skip) + " is out of range");
    const std::vector<int64_t> pool = node.attr_ints("pool_int64s");
    const std::vector<int64_t> counts = node.attr_ints("ngram_counts");
    const std::vector<int64_t> indexes = node.attr_ints("ngram_indexes");
    if (indexes.empty()) fail(node, "ngram_indexes must not be empty");
    for (int64_t i : indexes)
        if (i < 0) fail(node, "ngram_indexes must not be negative");
    p.out_size = *std::max_element(indexes.begin(), indexes.end()) + 1;
    p.weights = node.attr_floats("weights");
    if (!p.weights.empty() && static_cast<int64_t>(p.weights.size()) < p.out_size)
        fail(node, "weights has " + std::to_string(p.weights.size()) + " values for " +
                       std::to_string(p.out_size) + " output coordinates");
    std::size_t k = 0;  // n-gram number across the pool
    for (std::size_t i = 0; i < counts.size(); ++i) {
        const int64_t n = static_cast<int64_t>(i) + 1;
        const int64_t begin = counts[i];
        const int64_t end =
            i + 1 < counts.size() ? counts[i + 1] : static_cast<int64_t>(pool.size());
        if (begin < 0 || end < begin || end > static_cast<int64_t>(pool.size()) ||
            (end - begin) % n != 0)
            fail(node, "ngram_counts do not split pool_int64s into whole " + std::to_string(n) +
                           "-grams");
        for (int64_t g = begin; g < end; g += n, ++k) {
            if (k >= indexes.size()) fail(node, "ngram_indexes has fewer entries than the pool");
            if (n < p.min_len || n > p.max_len) continue;
            std::size_t at = 0;
            for (int64_t j = 0; j < n; ++j) {
                const auto hit = p.trie[at].next.find(pool[g + j]);
                if (hit != p.trie[at].next.end()) {
                    at = hit->second;
                    continue;
                }
                p.trie[at].next.emplace(pool[g + j], p.trie.size());
                at = p.trie.size();
                p.trie.emplace_back();
            }
            p.trie[at].coordinate = indexes[k];
        }
    }
    return p;
}

Shape tfidf_shape(const Node& node, const Shape& x, int64_t out_size) {
    if (x.size() == 1) return {out_size};
    if (x.size() == 2) return {x[0], out_size};
    fail(node, "input must be [C] or [N, C], got " + sim::shape_str(x));
}

// For each row, each skip distance d = 1 .. max_skip_count + 1 and each start position, the
// n-grams of tokens start, start + d, start + 2d, ... are looked up; each pool n-gram found adds
// one at its coordinate. 1-grams do not depend on d and are counted for d = 1 only. TF outputs
// the counts, IDF min(count, 1) * weight, TFIDF count * weight (weights by output coordinate).
std::vector<Tensor> compute_tfidf(const KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    if (x.dtype() != DType::Int32 && x.dtype() != DType::Int64)
        ctx.fail("input must be int32 or int64 with pool_int64s, got " + describe_tensor(x));
    const TfIdfPlan p = tfidf_plan(ctx.node);
    Tensor y(DType::Float32, tfidf_shape(ctx.node, x.shape(), p.out_size));
    const int64_t rows = x.rank() == 2 ? x.dim(0) : 1;
    const int64_t cols = x.dim(-1);
    std::vector<int64_t> freq(static_cast<std::size_t>(p.out_size));
    float* py = y.data<float>();
    for (int64_t row = 0; row < rows; ++row) {
        std::fill(freq.begin(), freq.end(), 0);
        auto token = [&](int64_t i) { return x.get_as_int64(row * cols + i); };
        int64_t start_len = p.min_len;
        for (int64_t d = 1; d <= p.max_skip + 1; ++d) {
            for (int64_t s = 0; s < cols; ++s) {
                if (s + d * (start_len - 1) >= cols) break;
                std::size_t at = 0;
                for (int64_t n = 1, i = s; n <= p.max_len && i < cols; ++n, i += d) {
                    const auto hit = p.trie[at].next.find(token(i));
                    if (hit == p.trie[at].next.end()) break;
                    at = hit->second;
                    const int64_t coordinate = p.trie[at].coordinate;
                    if (n >= start_len && coordinate >= 0) ++freq[coordinate];
                }
            }
            if (start_len == 1) {
                start_len = 2;
                if (start_len > p.max_len) break;
            }
        }
        for (int64_t c = 0; c < p.out_size; ++c) {
            const double w = p.weights.empty() ? 1.0 : p.weights[c];
            const double f = static_cast<double>(freq[c]);
            double v = f;
            if (p.mode == TfIdfMode::IDF) v = f > 0 ? w : 0.0;
            if (p.mode == TfIdfMode::TFIDF) v = f * w;
            py[row * p.out_size + c] = static_cast<float>(v);
        }
    }
    return {y};
}

XPUSIM_REGISTER_OP("TfIdfVectorizer", OpKernel{[](InferContext& ctx) {
                                                   ctx.set_output(
                                                       0, DType::Float32,
                                                       tfidf_shape(ctx.node, ctx.in(0).shape,
                                                                   tfidf_plan(ctx.node).out_size));
                                               },
                                               compute_tfidf, /*widen_half=*/false});

}  // namespace
}  // namespace xpusim::frontend::ops
