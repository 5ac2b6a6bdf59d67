// Matrix products: Gemm, MatMul (numpy semantics) and Einsum (general contraction lowered to
// diagonals, sums, transposes and batched Eigen GEMMs).
#include <algorithm>
#include <array>
#include <memory>
#include <string>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "frontends/onnx/ops/op_utils.h"

namespace xpusim::frontend::ops {
namespace {

template <class T>
using ConstMatrixMap = Eigen::Map<const sim::RowMatrix<T>>;
template <class T>
using MatrixMap = Eigen::Map<sim::RowMatrix<T>>;

void check_same_type(const KernelContext& ctx, std::size_t a, std::size_t b) {
    if (ctx.in(a).dtype() != ctx.in(b).dtype())
        ctx.fail("inputs " + describe_tensor(ctx.in(a)) + " and " + describe_tensor(ctx.in(b)) +
                 " differ in element type");
}

// Rejects bool, which no product allows.
template <class F>
void dispatch_product(DType t, const Node& node, F&& f) {
    dispatch_numeric(t, node, [&](auto tag) {
        using T = decltype(tag);
        if constexpr (std::is_same_v<T, bool>)
            throw sim::ModelError(node.describe() + ": boolean inputs are not allowed");
        else
            f(tag);
    });
}

// y = f * v, exact for integers when f is 1.
template <class T>
T scaled(T v, double f) {
    if constexpr (std::is_floating_point_v<T>)
        return static_cast<T>(f) * v;
    else
        return f == 1.0 ? v : static_cast<T>(static_cast<double>(v) * f);
}

// ---- Gemm ------------------------------------------------------------------------------------

struct GemmDims {
    int64_t m = 0, k = 0, n = 0;
};

GemmDims gemm_dims(const Node& node, const Shape& a, const Shape& b, const Shape* c) {
    const auto fail = [&](const std::string& why) {
        throw sim::ModelError(node.describe() + ": " + why);
    };
    if (a.size() != 2 || b.size() != 2)
        fail("A " + sim::shape_str(a) + " and B " + sim::shape_str(b) + " must be 2-D");
    const bool ta = node.attr_int("transA", 0) != 0;
    const bool tb = node.attr_int("transB", 0) != 0;
    GemmDims d{ta ? a[1] : a[0], ta ? a[0] : a[1], tb ? b[0] : b[1]};
    if ((tb ? b[1] : b[0]) != d.k)
        fail("inner dimensions of A " + sim::shape_str(a) + " and B " + sim::shape_str(b) +
             " differ (transA=" + std::to_string(ta) + ", transB=" + std::to_string(tb) + ")");
    // C broadcasts unidirectionally to (M, N).
    if (c) {
        const Shape out{d.m, d.n};
        bool ok = c->size() <= 2;
        for (std::size_t i = 0; ok && i < c->size(); ++i) {
            const int64_t cd = (*c)[i];
            const int64_t od = out[i + 2 - c->size()];
            ok = cd == 1 || cd == od;
        }
        if (!ok) fail("C " + sim::shape_str(*c) + " does not broadcast to " + sim::shape_str(out));
    }
    return d;
}

void infer_gemm(InferContext& ctx) {
    const Shape* c =
        ctx.inputs.size() > 2 && ctx.inputs[2].present ? &ctx.inputs[2].shape : nullptr;
    const GemmDims d = gemm_dims(ctx.node, ctx.in(0).shape, ctx.in(1).shape, c);
    ctx.set_output(0, ctx.in(0).dtype, {d.m, d.n});
}

// Y = alpha * op(A) * op(B) + beta * C. The opset < 7 'broadcast' attribute only states that
// C may broadcast, which valid models need either way, so it changes no result.
template <class T>
Tensor gemm(const KernelContext& ctx) {
    const Tensor& a = ctx.in(0);
    const Tensor& b = ctx.in(1);
    const Tensor* c = ctx.has(2) ? &ctx.in(2) : nullptr;
    const GemmDims d = gemm_dims(ctx.node, a.shape(), b.shape(), c ? &c->shape() : nullptr);
    const bool ta = ctx.node.attr_int("transA", 0) != 0;
    const bool tb = ctx.node.attr_int("transB", 0) != 0;
    const double alpha = ctx.node.attr_float("alpha", 1.0);
    const double beta = ctx.node.attr_float("beta", 1.0);
    Tensor y(a.dtype(), {d.m, d.n});
    ConstMatrixMap<T> am(a.data<T>(), a.dim(0), a.dim(1));
    ConstMatrixMap<T> bm(b.data<T>(), b.dim(0), b.dim(1));
    MatrixMap<T> ym(y.data<T>(), d.m, d.n);
    if (!ta && !tb)
        ym.noalias() = am * bm;
    else if (ta && !tb)
        ym.noalias() = am.transpose() * bm;
    else if (!ta && tb)
        ym.noalias() = am * bm.transpose();
    else
        ym.noalias() = am.transpose() * bm.transpose();
    T* py = y.data<T>();
    if (alpha != 1.0)
        for (int64_t i = 0; i < y.numel(); ++i) py[i] = scaled(py[i], alpha);
    if (c && beta != 0.0) {
        const T* pc = c->data<T>();
        const auto off = broadcast_offsets(c->shape(), y.shape());
        for (int64_t i = 0; i < y.numel(); ++i)
            py[i] = static_cast<T>(py[i] + scaled(pc[off[i]], beta));
    }
    return y;
}

std::vector<Tensor> compute_gemm(const KernelContext& ctx) {
    check_same_type(ctx, 0, 1);
    if (ctx.has(2))
        check_same_type(ctx, 0, 2);
    else if (ctx.opset < 11)
        ctx.fail("input C is required before opset 11");
    Tensor y;
    dispatch_product(ctx.in(0).dtype(), ctx.node, [&](auto tag) { y = gemm<decltype(tag)>(ctx); });
    return {y};
}

// ---- MatMul ----------------------------------------------------------------------------------

// numpy matmul: 1-D A becomes (1, K) and 1-D B (K, 1), the added axis dropped from the result;
// the leading (batch) axes broadcast.
struct MatMulDims {
    int64_t m = 0, k = 0, n = 0;
    Shape batch_a, batch_b, batch;
    Shape out;
};

MatMulDims matmul_dims(const Node& node, const Shape& a, const Shape& b) {
    if (a.empty() || b.empty())
        throw sim::ModelError(node.describe() + ": MatMul inputs must not be scalars");
    MatMulDims d;
    const Shape a2 = a.size() == 1 ? Shape{1, a[0]} : a;
    const Shape b2 = b.size() == 1 ? Shape{b[0], 1} : b;
    d.m = a2[a2.size() - 2];
    d.k = a2[a2.size() - 1];
    d.n = b2[b2.size() - 1];
    if (b2[b2.size() - 2] != d.k)
        throw sim::ModelError(node.describe() + ": inner dimensions of " + sim::shape_str(a) +
                              " and " + sim::shape_str(b) + " differ");
    d.batch_a.assign(a2.begin(), a2.end() - 2);
    d.batch_b.assign(b2.begin(), b2.end() - 2);
    d.batch = broadcast_shapes(d.batch_a, d.batch_b, node);
    d.out = d.batch;
    if (a.size() > 1) d.out.push_back(d.m);
    if (b.size() > 1) d.out.push_back(d.n);
    return d;
}

void infer_matmul(InferContext& ctx) {
    ctx.set_output(0, ctx.in(0).dtype, matmul_dims(ctx.node, ctx.in(0).shape, ctx.in(1).shape).out);
}

int max_threads() {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

// Y[b] = A[b] * B[b] over `batch` products of (m x k) * (k x n), with A[b] and B[b] at
// element offsets off_a[b], off_b[b]; a_t / b_t read A or B as stored transposed.
// Small products run one per thread (Eigen then stays single-threaded inside each), large ones
// one after another with Eigen's own threading; each output block has one writer either way.
template <class T>
void batched_gemm(const T* pa, const std::vector<int64_t>& off_a, bool a_t, const T* pb,
                  const std::vector<int64_t>& off_b, bool b_t, T* py, int64_t m, int64_t k,
                  int64_t n) {
    const int64_t batch = static_cast<int64_t>(off_a.size());
    const auto one = [&](int64_t i) {
        MatrixMap<T> ym(py + i * m * n, m, n);
        if (k == 0) {
            ym.setZero();
            return;
        }
        const T* ai = pa + off_a[i];
        const T* bi = pb + off_b[i];
        if (!a_t && !b_t)
            ym.noalias() = ConstMatrixMap<T>(ai, m, k) * ConstMatrixMap<T>(bi, k, n);
        else if (a_t && !b_t)
            ym.noalias() = ConstMatrixMap<T>(ai, k, m).transpose() * ConstMatrixMap<T>(bi, k, n);
        else if (!a_t && b_t)
            ym.noalias() = ConstMatrixMap<T>(ai, m, k) * ConstMatrixMap<T>(bi, n, k).transpose();
        else
            ym.noalias() =
                ConstMatrixMap<T>(ai, k, m).transpose() * ConstMatrixMap<T>(bi, n, k).transpose();
    };
    const bool small = m * n * k < 64 * 64 * 64;
    if (batch > 1 && small && max_threads() > 1) {
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < batch; ++i) one(i);
    } else {
        for (int64_t i = 0; i < batch; ++i) one(i);
    }
}

template <class T>
Tensor matmul(const KernelContext& ctx) {
    const Tensor& a = ctx.in(0);
    const Tensor& b = ctx.in(1);
    const MatMulDims d = matmul_dims(ctx.node, a.shape(), b.shape());
    Tensor y(a.dtype(), d.out);
    const int64_t batch = sim::shape_numel(d.batch);
    if (y.numel() == 0) return y;
    // B shared by every batch and A not broadcast: one (batch*m x k) * (k x n) product.
    if (sim::shape_numel(d.batch_b) == 1 && sim::shape_numel(d.batch_a) == batch) {
        batched_gemm<T>(a.data<T>(), {0}, false, b.data<T>(), {0}, false, y.data<T>(), batch * d.m,
                        d.k, d.n);
        return y;
    }
    std::vector<int64_t> off_a = broadcast_offsets(d.batch_a, d.batch);
    std::vector<int64_t> off_b = broadcast_offsets(d.batch_b, d.batch);
    for (auto& o : off_a) o *= d.m * d.k;
    for (auto& o : off_b) o *= d.k * d.n;
    batched_gemm<T>(a.data<T>(), off_a, false, b.data<T>(), off_b, false, y.data<T>(), d.m, d.k,
                    d.n);
    return y;
}

std::vector<Tensor> compute_matmul(const KernelContext& ctx) {
    check_same_type(ctx, 0, 1);
    Tensor y;
    dispatch_product(ctx.in(0).dtype(), ctx.node,
                     [&](auto tag) { y = matmul<decltype(tag)>(ctx); });
    return {y};
}

// ---- Einsum ----------------------------------------------------------------------------------

// Labels: 'A'-'Z' are 0-25, 'a'-'z' 26-51, so an implicit output lists them in ASCII order as
// numpy.einsum (the ONNX reference) does; ONNX Runtime 1.30 rejects upper-case labels. The
// broadcast axes of '...' are kEllipsis + j, right-aligned across operands.
constexpr int kEllipsis = 52;
using Labels = std::vector<int>;

struct EinsumSpec {
    std::vector<Labels> inputs;  // one label per axis of each input
    Labels output;
    std::map<int, int64_t> size;  // each label's extent after broadcasting
};

int letter_label(char ch) {
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return 26 + (ch - 'a');
    return -1;
}

// One term "ab...c": letters before and after an optional ellipsis.
struct Term {
    Labels before, after;
    bool ellipsis = false;
};

Term parse_term(const std::string& s, const Node& node) {
    Term t;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '.') {
            if (t.ellipsis || s.compare(i, 3, "...") != 0)
                throw sim::ModelError(node.describe() + ": bad ellipsis in einsum term '" + s +
                                      "'");
            t.ellipsis = true;
            i += 2;
            continue;
        }
        const int l = letter_label(s[i]);
        if (l < 0)
            throw sim::ModelError(node.describe() + ": bad character '" + std::string(1, s[i]) +
                                  "' in einsum equation");
        (t.ellipsis ? t.after : t.before).push_back(l);
    }
    return t;
}

EinsumSpec parse_einsum(const Node& node, const std::vector<Shape>& shapes) {
    const auto fail = [&](const std::string& why) -> void {
        throw sim::ModelError(node.describe() + ": " + why);
    };
    std::string eq;
    for (char ch : node.attr_string("equation", ""))
        if (ch != ' ') eq += ch;
    const auto arrow = eq.find("->");
    const std::string lhs = eq.substr(0, arrow);
    std::vector<Term> terms;
    for (std::size_t start = 0;;) {
        const auto comma = lhs.find(',', start);
        terms.push_back(parse_term(lhs.substr(start, comma - start), node));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    if (terms.size() != shapes.size())
        fail("equation '" + eq + "' has " + std::to_string(terms.size()) + " operands, node has " +
             std::to_string(shapes.size()) + " inputs");
    EinsumSpec spec;
    int64_t ell_rank = 0;
    for (std::size_t i = 0; i < terms.size(); ++i) {
        const int64_t letters =
            static_cast<int64_t>(terms[i].before.size() + terms[i].after.size());
        const int64_t rank = static_cast<int64_t>(shapes[i].size());
        if (terms[i].ellipsis ? rank < letters : rank != letters)
            fail("operand " + std::to_string(i) + " of shape " + sim::shape_str(shapes[i]) +
                 " does not match its subscripts in '" + eq + "'");
        ell_rank = std::max(ell_rank, rank - letters);
    }
    std::array<int, kEllipsis> count{};
    for (std::size_t i = 0; i < terms.size(); ++i) {
        Labels& l = spec.inputs.emplace_back(terms[i].before);
        const int64_t e = static_cast<int64_t>(shapes[i].size()) -
                          static_cast<int64_t>(l.size() + terms[i].after.size());
        for (int64_t j = 0; j < e; ++j) l.push_back(kEllipsis + static_cast<int>(ell_rank - e + j));
        l.insert(l.end(), terms[i].after.begin(), terms[i].after.end());
        for (std::size_t ax = 0; ax < l.size(); ++ax) {
            const int lab = l[ax];
            const int64_t ext = shapes[i][ax];
            if (lab < kEllipsis) ++count[lab];
            auto it = spec.size.find(lab);
            if (it == spec.size.end()) {
                spec.size[lab] = ext;
            } else if (it->second != ext) {
                // Only '...' axes broadcast (numpy rules); a letter must have one extent.
                if (lab < kEllipsis || (it->second != 1 && ext != 1))
                    fail("subscript extents disagree (" + std::to_string(it->second) + " vs " +
                         std::to_string(ext) + ") in '" + eq + "'");
                it->second = std::max(it->second, ext);
            }
        }
    }
    if (arrow == std::string::npos) {
        for (int64_t j = 0; j < ell_rank; ++j)
            spec.output.push_back(kEllipsis + static_cast<int>(j));
        for (int lab = 0; lab < kEllipsis; ++lab)
            if (count[lab] == 1) spec.output.push_back(lab);
    } else {
        const Term out = parse_term(eq.substr(arrow + 2), node);
        spec.output = out.before;
        // As numpy: an explicit output must keep the inputs' broadcast ('...') axes.
        if (!out.ellipsis && ell_rank > 0)
            fail("the output of '" + eq + "' needs '...' for the inputs' broadcast axes");
        for (int64_t j = 0; j < ell_rank; ++j)
            spec.output.push_back(kEllipsis + static_cast<int>(j));
        spec.output.insert(spec.output.end(), out.after.begin(), out.after.end());
        for (std::size_t i = 0; i < spec.output.size(); ++i) {
            if (!spec.size.count(spec.output[i]))
                fail("output subscript not in any input: '" + eq + "'");
            if (std::count(spec.output.begin(), spec.output.end(), spec.output[i]) > 1)
                fail("repeated output subscript in '" + eq + "'");
        }
    }
    return spec;
}

Shape einsum_output_shape(const EinsumSpec& spec) {
    Shape s;
    for (int l : spec.output) s.push_back(spec.size.at(l));
    return s;
}

void infer_einsum(InferContext& ctx) {
    std::vector<Shape> shapes;
    for (std::size_t i = 0; i < ctx.inputs.size(); ++i) shapes.push_back(ctx.in(i).shape);
    ctx.set_output(0, ctx.in(0).dtype, einsum_output_shape(parse_einsum(ctx.node, shapes)));
}

// An operand: a dense row-major array with one label per axis, either viewing an input
// tensor (`view`) or sharing an intermediate result (`own`); copies never copy the data.
template <class T>
struct Operand {
    const T* view = nullptr;
    std::shared_ptr<const std::vector<T>> own;
    Labels labels;
    Shape dims;

    const T* data() const { return own ? own->data() : view; }
};

bool contains(const Labels& l, int x) {
    return std::find(l.begin(), l.end(), x) != l.end();
}

// Gathers `x` into a new layout: out axis j has label out_labels[j] and extent out_dims[j];
// in_stride_of[j] is the stride in `x` for that label (the sum over repeated axes: a diagonal;
// 0: a broadcast). Axes of `x` not listed are summed over (their strides in sum_strides).
template <class T>
Operand<T> gather(const Operand<T>& x, const Labels& out_labels, const Shape& out_dims,
                  const std::vector<int64_t>& in_stride_of, const Shape& sum_dims,
                  const std::vector<int64_t>& sum_strides) {
    using Acc = std::conditional_t<std::is_floating_point_v<T>, double, T>;
    std::vector<T> out(static_cast<std::size_t>(sim::shape_numel(out_dims)));
    const T* px = x.data();
    const int64_t n_sum = sim::shape_numel(sum_dims);
    std::vector<int64_t> sum_off(static_cast<std::size_t>(n_sum), 0);
    {
        std::vector<int64_t> idx(sum_dims.size(), 0);
        for (int64_t s = 0; s < n_sum; ++s) {
            int64_t off = 0;
            for (std::size_t d = 0; d < idx.size(); ++d) off += idx[d] * sum_strides[d];
            sum_off[s] = off;
            for (std::size_t d = idx.size(); d-- > 0;) {
                if (++idx[d] < sum_dims[d]) break;
                idx[d] = 0;
            }
        }
    }
    std::vector<int64_t> idx(out_dims.size(), 0);
    int64_t base = 0;
    for (std::size_t o = 0; o < out.size(); ++o) {
        Acc acc = Acc(0);
        for (int64_t s = 0; s < n_sum; ++s) acc += static_cast<Acc>(px[base + sum_off[s]]);
        out[o] = static_cast<T>(acc);
        for (std::size_t d = idx.size(); d-- > 0;) {
            if (++idx[d] < out_dims[d]) {
                base += in_stride_of[d];
                break;
            }
            base -= in_stride_of[d] * (out_dims[d] - 1);
            idx[d] = 0;
        }
    }
    return Operand<T>{nullptr, std::make_shared<const std::vector<T>>(std::move(out)), out_labels,
                      out_dims};
}

// Rearranges `x` to the labels `want` (each label of x either in `want` or summed away);
// diagonals of repeated labels are taken and size-1 broadcast axes expanded to `size`.
template <class T>
Operand<T> rearrange(const Operand<T>& x, const Labels& want, const std::map<int, int64_t>& size) {
    if (x.labels == want && x.dims.size() == want.size()) {
        bool same = true;
        for (std::size_t i = 0; i < want.size(); ++i) same = same && x.dims[i] == size.at(want[i]);
        if (same) return x;
    }
    const auto strides = sim::shape_strides(x.dims);
    Shape out_dims;
    std::vector<int64_t> out_strides;
    for (int l : want) {
        out_dims.push_back(size.at(l));
        int64_t st = 0;
        for (std::size_t ax = 0; ax < x.labels.size(); ++ax)
            if (x.labels[ax] == l && x.dims[ax] != 1) st += strides[ax];
        out_strides.push_back(st);
    }
    Shape sum_dims;
    std::vector<int64_t> sum_strides;
    Labels seen;
    for (std::size_t ax = 0; ax < x.labels.size(); ++ax) {
        const int l = x.labels[ax];
        if (contains(want, l) || contains(seen, l)) continue;
        seen.push_back(l);
        int64_t st = 0;
        for (std::size_t b = ax; b < x.labels.size(); ++b)
            if (x.labels[b] == l) st += strides[b];
        sum_dims.push_back(x.dims[ax]);
        sum_strides.push_back(st);
    }
    return gather(x, want, out_dims, out_strides, sum_dims, sum_strides);
}

Labels unique_labels(const Labels& l) {
    Labels u;
    for (int x : l)
        if (!contains(u, x)) u.push_back(x);
    return u;
}

// Contracts A and B over their shared labels not in `keep` as a batched GEMM:
// R[batch, a_only, b_only] = sum_c A[batch, a_only, c] * B[batch, c, b_only].
template <class T>
Operand<T> contract(const Operand<T>& a, const Operand<T>& b, const Labels& keep,
                    const std::map<int, int64_t>& size) {
    Labels batch, a_only, b_only, summed;
    for (int l : a.labels) {
        if (contains(b.labels, l))
            (contains(keep, l) ? batch : summed).push_back(l);
        else if (contains(keep, l))
            a_only.push_back(l);
    }
    for (int l : b.labels)
        if (!contains(a.labels, l) && contains(keep, l)) b_only.push_back(l);
    const auto extent = [&](const Labels& ls) {
        int64_t n = 1;
        for (int l : ls) n *= size.at(l);
        return n;
    };
    const auto cat = [](Labels x, const Labels& y, const Labels& z) {
        x.insert(x.end(), y.begin(), y.end());
        x.insert(x.end(), z.begin(), z.end());
        return x;
    };
    // Either layout of each operand feeds the GEMM (stored transposed or not); keep whichever
    // needs no copy.
    const auto pick = [&](const Operand<T>& x, const Labels& plain, const Labels& transposed,
                          bool& t) {
        t = x.labels == transposed && x.labels != plain;
        return rearrange(x, t ? transposed : plain, size);
    };
    bool a_t = false, b_t = false;
    const Operand<T> ap = pick(a, cat(batch, a_only, summed), cat(batch, summed, a_only), a_t);
    const Operand<T> bp = pick(b, cat(batch, summed, b_only), cat(batch, b_only, summed), b_t);
    const int64_t nb = extent(batch), m = extent(a_only), k = extent(summed), n = extent(b_only);
    Operand<T> r;
    r.labels = cat(batch, a_only, b_only);
    for (int l : r.labels) r.dims.push_back(size.at(l));
    std::vector<T> out(static_cast<std::size_t>(nb * m * n), T(0));
    std::vector<int64_t> off_a(static_cast<std::size_t>(nb)), off_b(static_cast<std::size_t>(nb));
    for (int64_t i = 0; i < nb; ++i) {
        off_a[i] = i * m * k;
        off_b[i] = i * k * n;
    }
    if (!out.empty())
        batched_gemm<T>(ap.data(), off_a, a_t, bp.data(), off_b, b_t, out.data(), m, k, n);
    r.own = std::make_shared<const std::vector<T>>(std::move(out));
    return r;
}

template <class T>
Tensor einsum(const KernelContext& ctx) {
    std::vector<Shape> shapes;
    for (std::size_t i = 0; i < ctx.inputs.size(); ++i) shapes.push_back(ctx.in(i).shape());
    const EinsumSpec spec = parse_einsum(ctx.node, shapes);
    const std::size_t n = spec.inputs.size();
    // Labels still needed after operand i: the output's and those of operands after i.
    std::vector<Labels> needed_after(n);
    Labels acc = spec.output;
    for (std::size_t i = n; i-- > 0;) {
        needed_after[i] = acc;
        acc.insert(acc.end(), spec.inputs[i].begin(), spec.inputs[i].end());
    }
    // Operand i keeps the labels it shares with earlier operands (the running result) or that
    // are needed later; the rest are summed at once. Diagonals and broadcasts resolve in the
    // same pass.
    const auto load = [&](std::size_t i) {
        const Tensor& t = ctx.in(i);
        Operand<T> x{t.data<T>(), {}, spec.inputs[i], t.shape()};
        Labels want;
        for (int l : unique_labels(x.labels)) {
            bool earlier = false;
            for (std::size_t j = 0; j < i; ++j) earlier = earlier || contains(spec.inputs[j], l);
            if (earlier || contains(needed_after[i], l)) want.push_back(l);
        }
        return rearrange(x, want, spec.size);
    };
    Operand<T> r = load(0);
    for (std::size_t i = 1; i < n; ++i) r = contract(r, load(i), needed_after[i], spec.size);
    r = rearrange(r, spec.output, spec.size);
    Tensor y(ctx.in(0).dtype(), einsum_output_shape(spec));
    std::copy(r.data(), r.data() + y.numel(), y.data<T>());
    return y;
}

std::vector<Tensor> compute_einsum(const KernelContext& ctx) {
    if (ctx.inputs.empty()) ctx.fail("Einsum needs at least one input");
    for (std::size_t i = 1; i < ctx.inputs.size(); ++i) check_same_type(ctx, 0, i);
    Tensor y;
    dispatch_product(ctx.in(0).dtype(), ctx.node,
                     [&](auto tag) { y = einsum<decltype(tag)>(ctx); });
    return {y};
}

XPUSIM_REGISTER_OP("Gemm", OpKernel{infer_gemm, compute_gemm});
XPUSIM_REGISTER_OP("MatMul", OpKernel{infer_matmul, compute_matmul});
XPUSIM_REGISTER_OP("Einsum", OpKernel{infer_einsum, compute_einsum});

}  // namespace
}  // namespace xpusim::frontend::ops
