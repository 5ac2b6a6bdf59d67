// ONNX graph -> LpuProgram: the LPU's compiler. Placement decides latency, and all of it comes
// out of the schedule (lpu_scheduler.h):
//   - tensors go to MEM slices (a tensor's vectors in one slice, weight tiles striped over 32
//     slices of their MXM plane's hemisphere), so hop distances count; activations are freed
//     after their last reader;
//   - a vector is up to 320 elements on the lanes: the channels of one pixel (NCHW), or the last
//     dimension; 64, 128 or 256 channels fill 20%, 40% or 80% of the lanes;
//   - Conv, Gemm, MatMul: per 320 x 320 weight tile, LW streams the tile in from 32 slices
//     (mxm.install_cycles) and IW installs it once the plane's previous tile is done; the M input
//     vectors stream through ABC (a convolution's window vectors built on the way by an SXM Shift,
//     taps packed along K, not im2col in memory) and the ACC sums the K tiles; the last tile's
//     results cross to the VXM for the epilogue (bias, activation, requantization) and are
//     written back. Work items (an N tile and a share of M) go to the plane free first;
//   - element-wise ops, pooling (over shifted streams), softmax and LayerNorm (Exp or RSqrt,
//     cross-lane reductions as extra passes) run on the VXM; data movement (Transpose, Concat,
//     Slice, Gather, ...) through the SXM; views are addressing only;
//   - what the chip cannot run goes to the host, marked, for HostSpec::op_seconds;
//   - `chips: N` cuts the graph into N pipeline stages of contiguous nodes balanced by estimated
//     cycles; a tensor crossing chips is a Send / Receive pair over a C2C link.
// int8: MXM operands quantized (per-tensor activations from calibration, per-output-channel
// weights), products summed as int32 (emulated in fp32, exact while partial sums stay below
// 2^24); fp16: operands rounded to fp16, fp32 accumulation, stored fp16. The VXM computes fp32.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "frontends/lower/calibration.h"
#include "frontends/lower/host_fallback.h"
#include "frontends/lower/lowering.h"
#include "frontends/lower/lpu/lpu_scheduler.h"
#include "frontends/lower/loop_unroll.h"
#include "frontends/lower/op_classes.h"
#include "frontends/lower/qdq.h"
#include "frontends/lower/recurrent_unroll.h"
#include "frontends/onnx/passes.h"
#include "sim/error.h"
#include "sim/tensor/numeric_formats.h"

namespace xpusim::lower::lpu {
namespace {

using frontend::Graph;
using frontend::Node;
using isa::lpu::Precision;
using Unit = isa::lpu::Unit;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

const std::set<std::string> kVxmOps = {
    "Add", "Sub", "Mul", "Div", "Relu", "LeakyRelu", "Clip", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Neg", "Abs",
    "Pow", "Erf", "Gelu", "HardSigmoid", "HardSwish", "Max", "Min", "Where", "Equal", "Less", "Greater", "Not",
    "Cast", "BatchNormalization", "Reciprocal", "Softplus", "Elu", "Selu", "PRelu", "Sum", "Mean", "Floor", "Ceil",
    "Round", "Sign", "And", "Or", "Mod", "QuantizeLinear", "DequantizeLinear", "Identity"};
const std::set<std::string> kPoolOps = {"MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"};
const std::set<std::string> kReduceOps = {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd",
                                          "ReduceL2", "ReduceSumSquare", "ArgMax", "ArgMin"};
const std::set<std::string> kMoveOps = {"Transpose", "Concat", "Slice", "Gather", "Split", "Pad", "Expand", "Tile",
                                        "Resize", "Upsample", "DepthToSpace", "SpaceToDepth", "Shape", "ConstantOfShape",
                                        "Range", "GatherElements", "ScatterND", "Trilu", "CumSum", "OneHot"};

/// Vectors of a tensor as the lanes hold it, and the elements each fills.
struct VectorShape {
    int64_t vectors = 1, length = 1;
};
VectorShape vectors_of(const sim::Shape& s, int64_t lanes) {
    if (s.empty()) return {1, 1};
    const int64_t numel = std::accumulate(s.begin(), s.end(), int64_t{1}, std::multiplies<int64_t>());
    if (numel == 0) return {0, 1};
    const int64_t across = s.size() == 4 ? s[1] : s.back();  // NCHW: the channels of a pixel
    const int64_t rows = numel / std::max<int64_t>(1, across);
    return {rows * ceil_div(across, lanes), std::min(across, lanes)};
}

/// A tensor's place: its vectors dealt over `slices` (stripes, so that several units read it at
/// once, one vector a cycle from each), at `address` (a vector index; bank = address % banks).
/// One MEM slice's bytes: first-fit free ranges, in whole 320-byte vectors.
class SliceHeap {
  public:
    explicit SliceHeap(uint64_t capacity) : m_capacity(capacity) { m_free[0] = capacity; }
    /// @brief The byte offset of `bytes` (rounded up to vectors, at a multiple of `align` bytes), or -1.
    int64_t take(uint64_t bytes, uint64_t align = 320, int avoid_bank = -1) {
        bytes = (bytes + 319) / 320 * 320;
        for (auto it = m_free.begin(); it != m_free.end(); ++it) {
            uint64_t start = (it->first + align - 1) / align * align;
            if (avoid_bank >= 0 && static_cast<int>((start / 320) % 2) == avoid_bank) start += 320;
            if (start + bytes > it->second) continue;
            const uint64_t lo = it->first, hi = it->second;
            m_free.erase(it);
            if (start > lo) m_free[lo] = start;
            if (start + bytes < hi) m_free[start + bytes] = hi;
            m_used += bytes;
            return static_cast<int64_t>(start);
        }
        return -1;
    }
    void give(uint64_t start, uint64_t bytes) {
        bytes = (bytes + 319) / 320 * 320;
        uint64_t lo = start, hi = start + bytes;
        auto next = m_free.lower_bound(lo);
        if (next != m_free.begin()) {
            auto prev = std::prev(next);
            if (prev->second == lo) lo = prev->first, m_free.erase(prev);
        }
        next = m_free.lower_bound(hi);
        if (next != m_free.end() && next->first == hi) hi = next->second, m_free.erase(next);
        m_free[lo] = hi;
        m_used -= std::min(m_used, bytes);
    }
    bool fits(uint64_t bytes) const {
        bytes = (bytes + 319) / 320 * 320;
        for (const auto& [lo, hi] : m_free)
            if (hi - lo >= bytes) return true;
        return false;
    }
    uint64_t used() const { return m_used; }
    uint64_t peak = 0;

  private:
    uint64_t m_capacity;
    std::map<uint64_t, uint64_t> m_free;  // start -> end
    uint64_t m_used = 0;
};

struct Location {
    int chip = 0;
    std::vector<int> slices = {0};
    std::vector<int64_t> addresses = {0};
    uint64_t bytes = 0;
    int stripes() const { return static_cast<int>(slices.size()); }
    int slice(int j) const { return slices[static_cast<std::size_t>(j % stripes())]; }
    int64_t address(int j) const { return addresses[static_cast<std::size_t>(j % stripes())]; }
};

/// The part of a GEMM one chip computes under `partition: tensor`: its N tiles [n0, n1) and K
/// tiles [k0, k1) (-1: to the last). With `partial` set (a K split) the chip writes its fp32 /
/// int32 partial sums of all N to the tensor of that name, with no epilogue.
struct MxmShare {
    int64_t n0 = 0, n1 = -1, k0 = 0, k1 = -1;
    std::string partial;
};

constexpr int kBothBanks = -2;       // banks_of: the node reads both banks of the slice
constexpr int kMaxStripes = 16;       // one per VXM ALU group
constexpr int kVxmQueues = 16;        // [hw] 144 queues = 2 x (44 MEM + 14 SXM + 6 MXM) + 16 VXM
constexpr int kSxmQueues = 14;        // per hemisphere
constexpr int64_t kVectorsPerStripe = 64;  // fewer vectors than this a stripe are not worth a slice

class Lowerer {
  public:
    Lowerer(Graph& g, const LpuSpec& s, LpuProgram& p, bool numerics, const std::map<std::string, ValueRange>& ranges)
        : m_graph(g), m_spec(s), m_program(p), m_numerics(numerics), m_ranges(ranges), m_readers(g) {}

    void run(LoweredModel& result);

  private:
    // Memory
    uint64_t element_bytes() const { return static_cast<uint64_t>(m_spec.bytes_per_element()); }
    uint64_t bytes_of(const std::string& v) const;
    /// @brief Places `tensor` in MEM: its `vectors` (bytes / 320 when -1) dealt over stripes.
    /// `avoid`: slices (with the bank there) the node's inputs stream from; an output in one of them
    /// goes to the other bank, so the node's reads and writes never share a bank in one cycle.
    /// `exclude`: slices it must not use at all.
    Location alloc(const std::string& tensor, uint64_t bytes, int chip, const std::string& kind, int prefer_hemisphere = -1,
                   int64_t vectors = -1, const std::map<int, int>& avoid = {}, const std::set<int>& exclude = {});
    Location alloc_value(const std::string& value, int chip, const std::string& kind, const std::map<int, int>& avoid = {}) {
        return alloc(value, bytes_of(value), chip, kind, -1, vectors_of(m_graph.value(value).shape, m_spec.lanes.lanes()).vectors,
                     avoid);
    }
    /// @brief The (slice, bank) pairs `values` occupy on `chip` (kBothBanks where they hold both).
    std::map<int, int> banks_of(const std::vector<std::string>& values, int chip);
    void release(const std::string& tensor);
    /// @brief The slices a weight tile is striped over: install_streams of its plane's hemisphere.
    std::vector<int> weight_slices(int hemisphere, int64_t tile, const std::set<int>& avoid);
    // Nodes
    double estimate(const Node& n) const;
    /// @brief MEM bytes of `n`'s constant operands as stored (an MXM's tiles: K rows of full vectors).
    uint64_t weight_bytes(const Node& n) const;
    void lower_node(const Node& n, int chip);
    void lower_mxm(const Node& n, int chip, const std::vector<const Node*>& fused, const std::string& residual,
                   const MxmShare& share = {});
    void lower_vector(const Node& n, int chip, Op op, int64_t passes, int64_t taps, Unit unit);
    void lower_host(const Node& n, int chip, const std::string& why);
    int64_t ready_on(const std::string& value, int chip);
    Location where(const std::string& value, int chip);
    void bind_numerics(const Node& n, bool mxm);
    void span(const Node& n, int chip, int64_t start, int64_t end, uint64_t macs, const std::string& bound, double lanes);
    /// @brief The node's placement row, once: not again for the copies on other chips.
    void record(NodePlacement p) {
        if (!m_replica) m_placements.push_back(std::move(p));
    }
    // partition: tensor
    /// How `partition: tensor` runs an MXM node: over a grid of `pn` x `pk` chips, chip
    /// (a, b) = a pk + b computing N tiles share a and K tiles share b. pn x pk = 1: replicated,
    /// for a node with no constant weights (attention's activation x activation products) or too
    /// few tiles to share.
    struct Split {
        int64_t pn = 1, pk = 1;
        bool split() const { return pn * pk > 1; }
    };
    /// @brief The grid: as many chips along N as it has N tiles (the largest divisor of the
    /// chips that many tiles allow: each chip then sends only its columns), the rest along K
    /// (partial sums to reduce), when it has the K tiles for them.
    Split tensor_split(const Node& n) const;
    void lower_split_mxm(const Node& n, const std::vector<const Node*>& fused, const std::string& residual, Split how);
    /// @brief Sends `bytes` of `what` from chip `from` (ready at `ready`) to every other chip;
    /// returns, per chip, the cycle the bytes are there.
    std::vector<int64_t> broadcast(int from, uint64_t bytes, int64_t ready, const std::string& what);

    Graph& m_graph;
    const LpuSpec& m_spec;
    LpuProgram& m_program;
    bool m_numerics;
    const std::map<std::string, ValueRange>& m_ranges;
    frontend::ValueReaders m_readers;
    std::vector<std::unique_ptr<Scheduler>> m_sched;
    std::vector<std::vector<SliceHeap>> m_used;       // chip -> slice -> its bytes
    std::vector<uint64_t> m_weight_bytes, m_peak_act; // per chip
    std::vector<uint64_t> m_act_now;
    std::map<std::string, std::map<int, Location>> m_loc;  // value -> chip -> where
    std::map<std::string, std::map<int, int64_t>> m_ready;  // value -> chip -> cycle it is complete
    std::map<std::string, std::string> m_alias;           // view -> the value holding its bytes
    std::map<std::string, int> m_last_use;                // value -> last reader's node index
    std::vector<std::vector<int64_t>> m_plane_free_chip;
    std::vector<std::vector<int64_t>> m_plane_iw;  // chip -> plane -> its last IW (its load buffer is free after it)
    std::vector<NodePlacement> m_placements;
    int64_t m_tile_counter = 0;
    int m_next_vxm = 0, m_next_slice = 0;
    bool m_out_of_memory = false;
    bool m_tensor = false;   // partition: tensor
    bool m_one_copy = false; // a weight tile is stored in one hemisphere only (MEM is tight)
    bool m_replica = false;  // lowering a replicated node's copy on chip 1 and up
    std::string m_split_note;  // what the placement row of a split MXM node adds
    std::set<std::string> m_fused;  // nodes an MXM epilogue computed
    std::string m_oom_what;
};

uint64_t Lowerer::bytes_of(const std::string& v) const {
    const auto& info = m_graph.value(v);
    const int64_t n = std::accumulate(info.shape.begin(), info.shape.end(), int64_t{1}, std::multiplies<int64_t>());
    return static_cast<uint64_t>(std::max<int64_t>(0, n)) * element_bytes();
}

std::map<int, int> Lowerer::banks_of(const std::vector<std::string>& values, int chip) {
    std::map<int, int> out;
    for (std::string v : values) {
        while (m_alias.count(v)) v = m_alias.at(v);
        auto it = m_loc.find(v);
        if (it == m_loc.end()) continue;
        auto l = it->second.find(chip);
        if (l == it->second.end()) continue;
        for (int j = 0; j < l->second.stripes(); ++j) {
            const int bank = static_cast<int>(((l->second.address(j) % m_spec.mem.banks) + m_spec.mem.banks) % m_spec.mem.banks);
            auto [at, fresh] = out.emplace(l->second.slice(j), bank);
            if (!fresh && at->second != bank) at->second = kBothBanks;  // no bank there is free of the node's reads
        }
    }
    return out;
}

Location Lowerer::alloc(const std::string& tensor, uint64_t bytes, int chip, const std::string& kind, int prefer,
                        int64_t vector_count, const std::map<int, int>& avoid, const std::set<int>& exclude) {
    auto& used = m_used[static_cast<std::size_t>(chip)];
    const uint64_t cap = m_spec.mem.slice_bytes();
    const int half = static_cast<int>(m_spec.mem.per_hemisphere());
    const int total = static_cast<int>(used.size());
    // Stripes: one per kVectorsPerStripe vectors, up to kMaxStripes, and enough that each fits a slice.
    const int64_t vectors = vector_count >= 0 ? vector_count : static_cast<int64_t>((bytes + 319) / 320);
    const int fit = static_cast<int>(std::min<uint64_t>(static_cast<uint64_t>(total), (bytes + cap - 1) / cap));
    int want = static_cast<int>(std::clamp<int64_t>(ceil_div(vectors, kVectorsPerStripe), 1, std::min(kMaxStripes, total)));
    want = std::max(want, fit);
    Location l;
    l.chip = chip;
    l.bytes = bytes;
    uint64_t share = 0;
    // Slices round robin (alternating hemispheres unless one is preferred) with room for a share,
    // not those whose both banks the node reads (a chip too small for that takes them too);
    // fewer, larger stripes when too few slices have room, down to what the bytes need.
    const int first_want = want;
    for (bool shun_read_slices : {true, false}) {
        for (want = first_want;; want = std::max(fit, want / 2)) {
            share = (bytes + static_cast<uint64_t>(want) - 1) / static_cast<uint64_t>(want);
            l.slices.clear();
            l.addresses.clear();
            for (int k = 0; k < total && static_cast<int>(l.slices.size()) < want; ++k) {
                const int r = (m_next_slice + k) % total;
                const int s = prefer < 0 ? (r % 2) * half + (r / 2) % half : prefer * half + r % half;
                auto a = avoid.find(s);
                if (std::find(l.slices.begin(), l.slices.end(), s) != l.slices.end() || exclude.count(s) ||
                    (shun_read_slices && a != avoid.end() && a->second == kBothBanks))
                    continue;
                if (used[static_cast<std::size_t>(s)].fits(share)) l.slices.push_back(s);
            }
            if (static_cast<int>(l.slices.size()) >= want || want <= std::max(1, fit)) break;
        }
        if (static_cast<int>(l.slices.size()) >= want) break;
    }
    for (int s : l.slices) {
        auto& heap = used[static_cast<std::size_t>(s)];
        auto a = avoid.find(s);
        const int64_t at = heap.take(share, 320, a == avoid.end() || a->second == kBothBanks ? -1 : a->second);
        if (at < 0) {
            m_out_of_memory = true;
            if (m_oom_what.empty()) m_oom_what = tensor;
        }
        l.addresses.push_back(at / 320);
        heap.peak = std::max(heap.peak, heap.used());
    }
    m_next_slice = (m_next_slice + want) % total;
    if (static_cast<int>(l.slices.size()) < want) {
        m_out_of_memory = true;
        if (m_oom_what.empty()) m_oom_what = tensor;
        if (l.slices.empty()) l.slices = {0}, l.addresses = {-1};  // infeasible: never simulated
    }
    for (std::size_t j = 0; j < l.slices.size(); ++j)
        m_program.placements.push_back({tensor, chip, l.slices[j], static_cast<uint64_t>(l.addresses[j]) * 320, share, kind});
    if (kind == "weight") {
        m_weight_bytes[static_cast<std::size_t>(chip)] += bytes;
    } else {
        m_act_now[static_cast<std::size_t>(chip)] += bytes;
        m_peak_act[static_cast<std::size_t>(chip)] =
            std::max(m_peak_act[static_cast<std::size_t>(chip)], m_act_now[static_cast<std::size_t>(chip)]);
    }
    return l;
}

void Lowerer::release(const std::string& tensor) {
    auto it = m_loc.find(tensor);
    if (it == m_loc.end()) return;
    for (auto& [chip, l] : it->second) {
        auto& used = m_used[static_cast<std::size_t>(chip)];
        const uint64_t share = (l.bytes + static_cast<uint64_t>(l.stripes()) - 1) / static_cast<uint64_t>(l.stripes());
        for (int j = 0; j < l.stripes(); ++j)
            if (l.address(j) >= 0) used[static_cast<std::size_t>(l.slice(j))].give(static_cast<uint64_t>(l.address(j)) * 320, share);
        m_act_now[static_cast<std::size_t>(chip)] -= std::min(m_act_now[static_cast<std::size_t>(chip)], l.bytes);
    }
    m_loc.erase(it);  // its bytes are free: never given back twice
}

std::vector<int> Lowerer::weight_slices(int hemisphere, int64_t tile, const std::set<int>& avoid) {
    // install_streams slices of the hemisphere, rotating with the tile, away from the slices the
    // layer's activations stream from (else an install waits for a whole ABC's reads): fewer
    // slices, each streaming more of the tile's rows, while at least half of install_streams
    // are free.
    const int half = static_cast<int>(m_spec.mem.per_hemisphere());
    int free = 0;
    for (int k = 0; k < half; ++k) free += !avoid.count(hemisphere * half + k);
    const int want = static_cast<int>(std::min<int64_t>(m_spec.mxm.install_streams, half));
    const bool skip = 2 * free >= want;
    const int n = skip ? std::min(want, free) : want;
    std::vector<int> s;
    for (int k = 0; static_cast<int>(s.size()) < n && k < 2 * half; ++k) {
        const int slice = hemisphere * half + static_cast<int>((tile * n + k) % half);
        if (skip && avoid.count(slice)) continue;
        if (std::find(s.begin(), s.end(), slice) == s.end()) s.push_back(slice);
    }
    return s;
}

int64_t Lowerer::ready_on(const std::string& v0, int chip) {
    std::string v = v0;
    while (m_alias.count(v)) v = m_alias.at(v);
    if (m_graph.is_constant(v)) return 0;
    auto& per_chip = m_ready[v];
    if (auto it = per_chip.find(chip); it != per_chip.end()) return it->second;
    if (per_chip.empty()) return 0;  // a graph input: in MEM before the program starts
    // Produced on an earlier chip: send it over.
    const auto src = per_chip.begin();
    const uint64_t bytes = bytes_of(v);
    const int64_t at = m_sched[static_cast<std::size_t>(src->first)]->send(*m_sched[static_cast<std::size_t>(chip)], bytes,
                                                                           src->second, "c2c " + v);
    m_loc[v][chip] = alloc_value(v, chip, "act");
    per_chip[chip] = at;
    return at;
}

Location Lowerer::where(const std::string& v0, int chip) {
    std::string v = v0;
    while (m_alias.count(v)) v = m_alias.at(v);
    auto& per_chip = m_loc[v];
    if (auto it = per_chip.find(chip); it != per_chip.end()) return it->second;
    // A constant operand of a vector op (a bias, a scale): placed where it is first needed.
    const Location l = alloc_value(v, chip, m_graph.is_constant(v) ? "weight" : "input");
    per_chip[chip] = l;
    return l;
}

uint64_t Lowerer::weight_bytes(const Node& n) const {
    uint64_t b = 0;
    const bool mxm = (n.op_type == "Conv" || n.op_type == "Gemm" || n.op_type == "MatMul") && n.inputs.size() >= 2 &&
                     m_graph.is_constant(n.inputs[1]);
    for (std::size_t k = 0; k < n.inputs.size(); ++k) {
        const auto& v = n.inputs[k];
        if (v.empty() || !m_graph.is_constant(v)) continue;
        if (k == 1 && mxm) {
            const auto& w = m_graph.value(v).shape;
            int64_t K = 1, N = 1, groups = 1;
            if (n.op_type == "Conv") {
                groups = n.attr_int("group", 1);
                for (std::size_t i = 1; i < w.size(); ++i) K *= w[i];
                N = w[0] / std::max<int64_t>(1, groups);
            } else {
                const bool transB = n.op_type == "Gemm" && n.attr_int("transB", 0) != 0;
                K = w.size() >= 2 ? (transB ? w.back() : w[w.size() - 2]) : 1;
                N = w.size() >= 2 ? (transB ? w[w.size() - 2] : w.back()) : w[0];
            }
            b += static_cast<uint64_t>(groups * ceil_div(N, m_spec.lanes.lanes()) * K * m_spec.mxm.cols) * element_bytes();
        } else {
            b += bytes_of(v);
        }
    }
    return b;
}

double Lowerer::estimate(const Node& n) const {
    const int64_t lanes = m_spec.lanes.lanes();
    if (n.outputs.empty() || !m_graph.values.count(n.outputs[0])) return 1;
    const VectorShape out = vectors_of(m_graph.value(n.outputs[0]).shape, lanes);
    if ((n.op_type == "Conv" || n.op_type == "Gemm" || n.op_type == "MatMul") && m_graph.values.count(n.inputs[1])) {
        const auto& w = m_graph.value(n.inputs[1]).shape;
        int64_t K = 1;
        if (n.op_type == "Conv") {
            for (std::size_t i = 1; i < w.size(); ++i) K *= w[i];
        } else {
            K = w.size() >= 2 ? w[w.size() - 2] : 1;
        }
        return static_cast<double>(ceil_div(K, lanes) * std::max<int64_t>(1, out.vectors)) /
               static_cast<double>(m_spec.mxm.planes) + 40.0 * static_cast<double>(ceil_div(K, lanes));
    }
    return static_cast<double>(out.vectors) + 30.0;
}

void Lowerer::span(const Node& n, int chip, int64_t start, int64_t end, uint64_t macs, const std::string& bound,
                   double lanes) {
    LpuProgram::NodeSpan s;
    s.node = n.name, s.op_type = n.op_type, s.chip = chip, s.start = start, s.end = std::max(start, end);
    s.macs = macs, s.bound = bound, s.lane_utilization = lanes;
    m_program.spans.push_back(s);
}

// The node's function: its reference kernel on the values as the chip holds them.
void Lowerer::bind_numerics(const Node& n, bool mxm) {
    if (!m_numerics || m_replica) return;  // a node's function runs once, whatever its chips
    const bool int8 = m_spec.precision == Precision::Int8;
    if (mxm) {  // weights stored in the MXM's format: per-output-channel int8, or fp16
        const std::string& wname = n.inputs[1];
        if (m_graph.is_constant(wname)) {
            sim::Tensor w = m_graph.value(wname).constant->cast(sim::DType::Float32);
            float* d = w.data<float>();
            const int64_t numel = w.numel();
            if (int8) {
                // Output channels: Conv's dim 0; Gemm's columns (dim 1, or 0 with transB); MatMul's last dim.
                const bool conv = n.op_type == "Conv";
                const bool transB = n.op_type == "Gemm" && n.attr_int("transB", 0) != 0;
                const auto& sh = w.shape();
                const int64_t cols = conv || transB ? sh[0] : sh.back();
                const int64_t inner = numel / std::max<int64_t>(1, cols);
                auto channel = [&](int64_t i) { return conv || transB ? i / inner : i % cols; };
                std::vector<float> absmax(static_cast<std::size_t>(cols), 0.0f);
                for (int64_t i = 0; i < numel; ++i)
                    absmax[static_cast<std::size_t>(channel(i))] = std::max(absmax[static_cast<std::size_t>(channel(i))], std::fabs(d[i]));
                for (int64_t i = 0; i < numel; ++i) {
                    const float s = symmetric_scale(absmax[static_cast<std::size_t>(channel(i))]);
                    d[i] = sim::dequantize(sim::quantize_int8(d[i], {s, 0}), {s, 0});
                }
            } else {
                sim::round_to_format(d, static_cast<long>(numel), sim::NumericFormat::Float16);
            }
            m_graph.value(wname).constant = w;
        }
    }
    NodeFunction fn = bind_node_function(m_graph, n);
    std::vector<std::string> ins;
    for (const auto& i : n.inputs)
        if (!i.empty() && !m_graph.is_constant(i)) ins.push_back(i);
    std::vector<float> scales;
    for (const auto& i : ins) {
        auto r = m_ranges.find(i);
        scales.push_back(r == m_ranges.end() ? 0.0f : symmetric_scale(r->second.covered(m_spec.quant)));
    }
    std::vector<std::string> outs;  // the outputs the node names, as its function returns them
    for (const auto& o : n.outputs)
        if (!o.empty()) outs.push_back(o);
    const std::string name = n.name;
    m_program.functions.emplace_back(name, [fn, ins, outs, scales, mxm, int8, name](std::map<std::string, sim::Tensor>& values) {
        std::vector<sim::Tensor> args;
        for (std::size_t k = 0; k < ins.size(); ++k) {
            auto it = values.find(ins[k]);
            if (it == values.end()) throw sim::ModelError("lpu: node '" + name + "' reads '" + ins[k] + "' before it is computed");
            sim::Tensor t = it->second;
            if (mxm && sim::is_float(t.dtype())) {  // the MXM's operand format
                t = t.cast(sim::DType::Float32);
                float* d = t.data<float>();
                if (int8) {
                    const float s = scales[k] > 0 ? scales[k] : 1.0f;
                    for (int64_t i = 0; i < t.numel(); ++i) d[i] = sim::dequantize(sim::quantize_int8(d[i], {s, 0}), {s, 0});
                } else {
                    sim::round_to_format(d, static_cast<long>(t.numel()), sim::NumericFormat::Float16);
                }
            }
            args.push_back(t);
        }
        std::vector<sim::Tensor> res = fn(args);
        for (std::size_t k = 0; k < outs.size() && k < res.size(); ++k) {
            if (outs[k].empty()) continue;
            sim::Tensor t = res[k];
            if (!int8 && sim::is_float(t.dtype())) {  // fp16 stored in MEM
                t = t.cast(sim::DType::Float32);
                sim::round_to_format(t.data<float>(), static_cast<long>(t.numel()), sim::NumericFormat::Float16);
            }
            values[outs[k]] = t;
        }
    });
}

void Lowerer::lower_host(const Node& n, int chip, const std::string& why) {
    if (m_replica) return;  // partition: tensor: once, from chip 0; ready_on sends it on
    int64_t ready = 0;
    for (const auto& i : n.inputs)
        if (!i.empty()) ready = std::max(ready, ready_on(i, chip));
    const sim::HostCall h = make_host_call(m_graph, n);
    uint64_t in = 0, out = 0;
    for (const auto& i : n.inputs)
        if (!i.empty() && !m_graph.is_constant(i)) in += bytes_of(i);
    for (const auto& o : n.outputs)
        if (!o.empty()) out += bytes_of(o);
    const double s = m_spec.host.link_seconds(in) + m_spec.host.op_seconds(h.cost) + m_spec.host.link_seconds(out);
    const int64_t end = m_sched[static_cast<std::size_t>(chip)]->host_gap(static_cast<int64_t>(std::ceil(s * m_spec.clock_hz())), ready, n.name);
    for (const auto& o : n.outputs)
        if (!o.empty()) {
            m_loc[o][chip] = alloc_value(o, chip, "act");
            m_ready[o][chip] = end;
        }
    span(n, chip, ready, end, 0, "host", 1.0);
    record({n.name, n.op_type, sim::Placement::Host, "host", why, ""});
    bind_numerics(n, false);
}

void Lowerer::lower_vector(const Node& n, int chip, Op op, int64_t passes, int64_t taps, Unit unit) {
    Scheduler& S = *m_sched[static_cast<std::size_t>(chip)];
    const int64_t lanes = m_spec.lanes.lanes();
    const std::string& y = n.outputs[0];
    const VectorShape out = vectors_of(m_graph.value(y).shape, lanes);
    std::vector<std::string> ins;
    for (const auto& i : n.inputs)
        if (!i.empty() && (!m_graph.is_constant(i) || ins.empty())) ins.push_back(i);
    int64_t ready = 0;
    for (const auto& i : ins) ready = std::max(ready, ready_on(i, chip));
    const Location src = where(ins.front(), chip);
    for (std::size_t k = 1; k < ins.size(); ++k) where(ins[k], chip);
    const Location dst = alloc_value(y, chip, "act", banks_of(ins, chip));
    m_loc[y][chip] = dst;
    const int64_t per = passes * taps;  // issues per output vector
    const int width = static_cast<int>(m_spec.precision == Precision::Int8 ? 1 : 2);
    const int64_t half = m_spec.mem.per_hemisphere();
    // One chain per stripe of the output: stripe j's vectors from the inputs' stripe j, on VXM
    // (or SXM) queue j, into the output's stripe j.
    const int parts = dst.stripes();
    const int64_t chunk = ceil_div(std::max<int64_t>(1, out.vectors), parts);
    int64_t start = INT64_MAX, end = ready;
    for (int j = 0; j < parts; ++j) {
        const int64_t vj = std::min(chunk, std::max<int64_t>(1, out.vectors) - j * chunk);
        if (vj <= 0) break;
        const int q = (m_next_vxm + j) % kVxmQueues;
        const std::string hemi = src.slice(j) < half ? "W" : "E";
        std::vector<Stage> st;
        st.push_back({S.mem_queue(src.slice(j)), Op::Read, out.length, width, src.address(j), 1, 0});
        if (unit == Unit::Sxm || taps > 1)
            st.push_back({"SXM." + hemi + std::to_string(q % kSxmQueues), unit == Unit::Sxm ? Op::Permute : Op::Shift, out.length,
                          width, 0, 1, 0});
        if (unit != Unit::Sxm) st.push_back({"VXM." + std::to_string(q), op, out.length, width, 0, 1, 0});
        st.push_back({S.mem_queue(dst.slice(j)), Op::Write, out.length, 0, dst.address(j), per, per - 1});
        std::vector<Stage> side;
        const std::size_t join = st.size() - 2;
        std::string copy;
        if (ins.size() >= 2 && unit != Unit::Sxm) {
            const Location s2 = where(ins[1], chip);
            int slice2 = s2.slice(j);
            int64_t addr2 = s2.address(j);
            if (slice2 == src.slice(j)) {
                // One slice reads one vector a cycle: copy this stripe of the second operand to
                // another slice (freed once the chain has read it).
                copy = ins[1] + ".copy" + std::to_string(j);
                const Location tmp = alloc(copy, static_cast<uint64_t>(vj) * 320, chip, "act", -1, vj, {}, {slice2, dst.slice(j)});
                m_loc[copy][chip] = tmp;
                const Placed c = S.place({{S.mem_queue(slice2), Op::Read, out.length, width, addr2, 1, 0},
                                          {S.mem_queue(tmp.slice(0)), Op::Write, out.length, 0, tmp.address(0), 1, 0}},
                                         vj, 1, ready, n.name);
                ready = std::max(ready, c.end);
                slice2 = tmp.slice(0), addr2 = tmp.address(0);
            }
            side.push_back({S.mem_queue(slice2), Op::Read, out.length, width, addr2, 1, 0});
        }
        const Placed p = S.place(st, vj * per, 1, ready, n.name, side, join);
        if (!copy.empty()) release(copy);
        start = std::min(start, p.start);
        end = std::max(end, p.end);
    }
    m_next_vxm += parts;
    // Inputs the chains above do not stream (an SXM op's beyond its first, a VXM op's beyond its
    // second: Concat, Sum of many): each its own pass through the SXM.
    for (std::size_t k = unit == Unit::Sxm ? 1 : 2; k < ins.size(); ++k) {
        const Location sk = where(ins[k], chip);
        const VectorShape vk = vectors_of(m_graph.value(ins[k]).shape, lanes);
        const std::string hemi = sk.slice(0) < half ? "W" : "E";
        std::vector<Stage> more = {{S.mem_queue(sk.slice(0)), Op::Read, vk.length, width, sk.address(0), 1, 0},
                                   {"SXM." + hemi + std::to_string(m_next_vxm++ % kSxmQueues), Op::Permute, vk.length, width, 0, 1, 0},
                                   {S.mem_queue(dst.slice(static_cast<int>(k))), Op::Write, vk.length, 0, dst.address(static_cast<int>(k)), 1, 0}};
        end = std::max(end, S.place(more, std::max<int64_t>(1, vk.vectors), 1, ready, n.name).end);
    }
    m_ready[y][chip] = end;
    span(n, chip, start == INT64_MAX ? ready : start, end, 0, unit == Unit::Sxm ? "sxm" : "vxm",
         static_cast<double>(out.length) / static_cast<double>(lanes));
    record({n.name, n.op_type, sim::Placement::Native, unit == Unit::Sxm ? "sxm" : "vxm", "", ""});
    bind_numerics(n, false);
}

// `fused`: the epilogue's nodes after the GEMM (a residual Add whose other input, `residual`, is
// already in MEM, then an activation); the VXM applies them on the way back to MEM.
void Lowerer::lower_mxm(const Node& n, int chip, const std::vector<const Node*>& fused, const std::string& residual,
                        const MxmShare& share) {
    Scheduler& S = *m_sched[static_cast<std::size_t>(chip)];
    const int64_t lanes = m_spec.lanes.lanes();
    const auto& x = m_graph.value(n.inputs[0]).shape;
    const auto& wshape = m_graph.value(n.inputs[1]).shape;
    const auto& yshape = m_graph.value(n.outputs[0]).shape;
    // The GEMM: M input vectors, K along the lanes (a conv's C/g x R x S, taps packed), N outputs.
    int64_t M = 1, K = 1, N = 1, groups = 1, taps = 1;
    if (n.op_type == "Conv") {
        groups = n.attr_int("group", 1);
        M = yshape[0];
        for (std::size_t i = 2; i < yshape.size(); ++i) M *= yshape[i];
        for (std::size_t i = 1; i < wshape.size(); ++i) K *= wshape[i];
        for (std::size_t i = 2; i < wshape.size(); ++i) taps *= wshape[i];
        N = wshape[0] / groups;
    } else {
        K = x.back();
        N = yshape.back();
        M = std::accumulate(yshape.begin(), yshape.end() - 1, int64_t{1}, std::multiplies<int64_t>());
        if (n.op_type == "Gemm" && n.attr_int("transA", 0) != 0) K = x[0];
    }
    const int64_t k_tiles = ceil_div(K, lanes), n_tiles = ceil_div(N, lanes);
    // This chip's share of the tiles (all of them but under partition: tensor).
    const int64_t n0 = share.n0, n1 = share.n1 < 0 ? n_tiles : share.n1;
    const int64_t k0 = share.k0, k1 = share.k1 < 0 ? k_tiles : share.k1;
    const bool partial = !share.partial.empty();
    const bool fp16 = m_spec.precision == Precision::Fp16;
    const int64_t stride = fp16 ? m_spec.mxm.fp16_vectors_per_cycle_divisor : 1;
    const int width = fp16 ? 2 : 1;
    int64_t ready = ready_on(n.inputs[0], chip);
    const bool dynamic_b = !m_graph.is_constant(n.inputs[1]);
    if (dynamic_b) ready = std::max(ready, ready_on(n.inputs[1], chip));
    const Location src = where(n.inputs[0], chip);
    // The epilogue applies a fused activation: the node writes the activation's output (a K
    // share: its partial sums).
    const std::string& y = partial ? share.partial : fused.empty() ? n.outputs[0] : fused.back()->outputs[0];
    if (dynamic_b) where(n.inputs[1], chip);
    Location res;
    if (!residual.empty()) {
        ready = std::max(ready, ready_on(residual, chip));
        res = where(residual, chip);
    }
    const Location dst =
        partial ? alloc(y, static_cast<uint64_t>(M * groups * (n1 - n0) * lanes) * 4, chip, "act", -1, M * groups * (n1 - n0),
                        banks_of({n.inputs[0], n.inputs[1]}, chip))
                : alloc_value(y, chip, "act", banks_of({n.inputs[0], n.inputs[1], residual}, chip));
    m_loc[y][chip] = dst;
    // Weights: each tile striped over its plane's install slices (placed as the tiles are used).
    const Location bsrc = dynamic_b ? where(n.inputs[1], chip) : Location{};
    // Work items: (group, N tile, share of M) over the planes.
    const int64_t planes = m_spec.mxm.planes;
    const int64_t items_per_tile = std::max<int64_t>(1, std::min<int64_t>(ceil_div(planes, groups * (n1 - n0)), ceil_div(M, 64)));
    const int64_t chunk = ceil_div(M, items_per_tile);
    auto& free_at = m_plane_free_chip[static_cast<std::size_t>(chip)];
    const int64_t install_vectors = m_spec.mxm.install_cycles(lanes, m_spec.bytes_per_element());
    int64_t start = INT64_MAX, end = ready, install_total = 0, abc_total = 0, item = 0;
    // A tile's weights in MEM: its K rows, each a full vector of the plane's columns.
    // Fewer work items than planes (a batch-1 layer with one or two N tiles): its K tiles are split
    // in two over idle planes, each half's partial sums written to its own slice (apart from the
    // input's and the output's), and the VXM adds them into the output.
    const int64_t items = groups * (n1 - n0) * ceil_div(M, chunk);
    const int64_t ksplit = residual.empty() && !partial && items * 2 <= planes && k1 - k0 >= 2 && m_spec.mem.slices >= 32 ? 2 : 1;
    std::set<int> busy_slices(src.slices.begin(), src.slices.end());
    busy_slices.insert(dst.slices.begin(), dst.slices.end());
    if (!residual.empty()) busy_slices.insert(res.slices.begin(), res.slices.end());
    std::map<std::tuple<int64_t, int64_t, int64_t, int>, std::vector<int>> tile_slices;
    for (int64_t g = 0; g < groups; ++g)
        for (int64_t nt = n0; nt < n1; ++nt)
            for (int64_t m0 = 0; m0 < M; m0 += chunk, ++item) {
                const int64_t mc = std::min(chunk, M - m0);
                const int64_t ncols = std::min(lanes, N - nt * lanes);
                const int part = static_cast<int>(item);
                std::vector<Location> partials;
                int64_t parts_end = ready;
                for (int64_t kp = 0; kp < ksplit; ++kp) {
                    const int64_t k_begin = k0 + kp * (k1 - k0) / ksplit, k_end = k0 + (kp + 1) * (k1 - k0) / ksplit;
                    // The plane free first; when weights are tight (m_one_copy), one of the
                    // hemisphere that already holds the tiles, so that they are stored once.
                    int64_t q = std::min_element(free_at.begin(), free_at.end()) - free_at.begin();
                    const int64_t half_planes = std::max<int64_t>(1, planes / 2);
                    for (int h = 0; h < 2 && m_one_copy && !dynamic_b; ++h)
                        if (tile_slices.count({g, nt, k_begin, h}))
                            q = h * half_planes + (std::min_element(free_at.begin() + h * half_planes, free_at.begin() + (h + 1) * half_planes) -
                                                   (free_at.begin() + h * half_planes));
                    const int hemisphere = static_cast<int>(q / std::max<int64_t>(1, planes / 2)) % 2;
                    const std::string plane = std::string("MXM.") + (hemisphere == 0 ? "W" : "E") + std::to_string(q % 2);
                    const std::string sxm = std::string("SXM.") + (hemisphere == 0 ? "W" : "E") + std::to_string(q % 2);
                    int64_t plane_busy = free_at[static_cast<std::size_t>(q)];
                    Location out = dst;
                    if (ksplit > 1) {  // this part's fp32 / int32 partial sums, on a slice of its own
                        std::set<int> exclude = busy_slices;
                        for (const auto& pl : partials) exclude.insert(pl.slices.begin(), pl.slices.end());
                        out = alloc(y + ".partial" + std::to_string(kp), static_cast<uint64_t>(mc) * 320 * 4, chip, "act", -1, 1, {},
                                    exclude);
                        partials.push_back(out);
                    }
                    for (int64_t kt = k_begin; kt < k_end; ++kt) {
                        const int64_t tile = m_tile_counter++;
                        std::vector<int> ws;
                        int64_t iv = install_vectors;
                        if (dynamic_b) {
                            ws = {bsrc.slice(0)};
                            iv = m_spec.mxm.rows * m_spec.bytes_per_element();  // one slice streams the rows
                        } else {
                            // A tile's weights sit in one place: the first item to use them picks it.
                            const uint64_t tile_bytes = static_cast<uint64_t>(std::min(lanes, K - kt * lanes)) *
                                                        static_cast<uint64_t>(m_spec.mxm.cols) * element_bytes();
                            auto placed = tile_slices.find({g, nt, kt, hemisphere});
                            if (placed == tile_slices.end()) {
                                // As many of its slices as let the install end first
                                // (Scheduler::install_width), where the tile's share fits in each;
                                // else the slices with room for a share, the plane's hemisphere
                                // first (the far one streams to it through the VXM, further).
                                auto& heaps = m_used[static_cast<std::size_t>(chip)];
                                auto fits = [&](const std::vector<int>& sl, std::size_t w) {
                                    for (std::size_t k = 0; k < w; ++k)
                                        if (!heaps[static_cast<std::size_t>(sl[k])].fits(tile_bytes / w)) return false;
                                    return true;
                                };
                                std::vector<int> cand = weight_slices(hemisphere, tile, busy_slices);
                                std::size_t w = S.install_width(plane, cand, m_spec.mxm.rows * m_spec.mxm.cols * m_spec.bytes_per_element() / lanes,
                                                                0, m_plane_iw[static_cast<std::size_t>(chip)][static_cast<std::size_t>(q)] + 1, n.name);
                                if (!fits(cand, w)) w = cand.size();
                                for (std::size_t want = cand.size(); !fits(cand, w) && want > 0; --want) {
                                    const int half = static_cast<int>(m_spec.mem.per_hemisphere());
                                    std::vector<int> room;
                                    for (int k = 0; k < 2 * half && room.size() < want; ++k) {
                                        const int sl = ((hemisphere + k / half) % 2) * half + static_cast<int>((tile + k) % half);
                                        if (heaps[static_cast<std::size_t>(sl)].fits(tile_bytes / want)) room.push_back(sl);
                                    }
                                    if (room.size() == want) cand = room, w = want;
                                }
                                cand.resize(w);
                                placed = tile_slices.emplace(std::make_tuple(g, nt, kt, hemisphere), cand).first;
                            }
                            ws = placed->second;
                            // Each slice streams one vector of the tile a cycle.
                            iv = ceil_div(m_spec.mxm.rows * m_spec.mxm.cols * m_spec.bytes_per_element(),
                                          static_cast<int64_t>(ws.size()) * lanes);
                            if (m0 == 0) {  // the tile's bytes, striped over its slices
                                for (int sl : ws) {  // at even vectors: bank 0, where the install's reads go
                                    auto& heap = m_used[static_cast<std::size_t>(chip)][static_cast<std::size_t>(sl)];
                                    if (heap.take(tile_bytes / ws.size(), 640) < 0) {
                                        m_out_of_memory = true;
                                        if (m_oom_what.empty()) m_oom_what = n.inputs[1];
                                    }
                                    heap.peak = std::max(heap.peak, heap.used());
                                }
                                m_weight_bytes[static_cast<std::size_t>(chip)] += tile_bytes;
                            }
                        }
                        auto& last_iw = m_plane_iw[static_cast<std::size_t>(chip)][static_cast<std::size_t>(q)];
                        const int64_t iw = S.install(plane, ws, iv, dynamic_b ? ready : 0, last_iw + 1, plane_busy, n.name);
                        last_iw = iw;
                        install_total += iv;
                        const int64_t klen = std::min(lanes, K - kt * lanes);
                        std::vector<Stage> st;
                        st.push_back({S.mem_queue(src.slice(part)), Op::Read, klen, width, src.address(part), 1, 0});
                        if (taps > 1) st.push_back({sxm, Op::Shift, klen, width, 0, 1, 0});
                        const bool last = kt + 1 == k_end;
                        st.push_back({plane, Op::ABC, klen, last ? 4 : 0, 0, 1, 0});
                        std::vector<Stage> side;
                        if (last) {
                            // The epilogue on the VXM (for a K part: the partial sums pass through in fp32).
                            const bool sums = ksplit > 1 || partial;
                            st.push_back({"VXM." + std::to_string(m_next_vxm++ % kVxmQueues),
                                          sums ? Op::Convert : Op::Vbinary, ncols, sums ? 4 : width, 0, 1, 0});
                            st.push_back({S.mem_queue(out.slice(part)), Op::Write, ncols, 0, out.address(part), 1, 0});
                            // The residual's stripe joins at the VXM (unless it shares the input's slice).
                            if (!residual.empty() && !partial && res.slice(part) != src.slice(part))
                                side.push_back({S.mem_queue(res.slice(part)), Op::Read, ncols, width, res.address(part), 1, 0});
                        }
                        const std::size_t abc = taps > 1 ? 2 : 1;
                        // The ABC waits for the IW. After the item's first tile, the Reads (and Shifts)
                        // feeding it issue ahead, so its first vector meets the plane the cycle after
                        // the install, right behind the previous tile's last. The first tile's Reads
                        // wait for the install: streaming the activations earlier would hold the MEM
                        // read ports the other planes' first installs need.
                        const bool first = kt == k_begin;
                        const Placed p = first ? S.place(st, mc, stride, std::max(ready, iw + 1), n.name, side, st.size() - 2)
                                               : S.place(st, mc, stride, ready, n.name, side, st.size() - 2, abc, iw + 1);
                        abc_total += mc * stride;
                        start = std::min(start, p.start);
                        end = std::max(end, p.end);
                        parts_end = std::max(parts_end, p.end);
                        // The plane's next IW waits for this tile's last vector into the array.
                        plane_busy = p.issues[abc] + (mc - 1) * stride + 1;
                    }
                    free_at[static_cast<std::size_t>(q)] = plane_busy;
                }
                // The VXM adds the two halves into the output, with the epilogue.
                if (partials.size() == 2) {
                    const Placed p = S.place({{S.mem_queue(partials[0].slice(0)), Op::Read, ncols, 4, partials[0].address(0), 1, 0},
                                              {"VXM." + std::to_string(m_next_vxm++ % kVxmQueues), Op::Vbinary, ncols, width, 0, 1, 0},
                                              {S.mem_queue(dst.slice(part)), Op::Write, ncols, 0, dst.address(part), 1, 0}},
                                             mc, 1, parts_end, n.name,
                                             {{S.mem_queue(partials[1].slice(0)), Op::Read, ncols, 4, partials[1].address(0), 1, 0}}, 1);
                    end = std::max(end, p.end);
                }
                for (const auto& pl : partials) {
                    auto& used = m_used[static_cast<std::size_t>(chip)];
                    for (int j = 0; j < pl.stripes(); ++j)
                        if (pl.address(j) >= 0)
                            used[static_cast<std::size_t>(pl.slice(j))].give(static_cast<uint64_t>(pl.address(j)) * 320,
                                                                            (pl.bytes + pl.stripes() - 1) / pl.stripes());
                    m_act_now[static_cast<std::size_t>(chip)] -= std::min(m_act_now[static_cast<std::size_t>(chip)], pl.bytes);
                }
            }
    m_ready[y][chip] = end;
    const int64_t k_share = std::min(K, k1 * lanes) - k0 * lanes, n_share = std::min(N, n1 * lanes) - n0 * lanes;
    const uint64_t macs = static_cast<uint64_t>(M) * static_cast<uint64_t>(k_share) * static_cast<uint64_t>(n_share) *
                          static_cast<uint64_t>(groups);
    const double lane_use = static_cast<double>(k_share) / static_cast<double>((k1 - k0) * lanes);
    span(n, chip, start == INT64_MAX ? ready : start, end, macs, install_total > abc_total ? "weight install" : "MXM streaming",
         lane_use);
    record({n.name, n.op_type, sim::Placement::Native, "mxm",
                            std::to_string(k_tiles * n_tiles * groups) + " weight tiles, " +
                                (install_total > abc_total ? "bound by weight install" : "bound by streaming M vectors") +
                                m_split_note,
                            ""});
    bind_numerics(n, true);
    for (const Node* f : fused) {
        record({f->name, f->op_type, sim::Placement::Lowered, "vxm", "fused into " + n.name + "'s VXM epilogue", ""});
        span(*f, chip, end, end, 0, "fused", 1.0);
        bind_numerics(*f, false);
    }
}

Lowerer::Split Lowerer::tensor_split(const Node& n) const {
    const int64_t lanes = m_spec.lanes.lanes(), chips = m_spec.chips;
    if (!m_graph.is_constant(n.inputs[1]) || (n.op_type == "Conv" && n.attr_int("group", 1) != 1)) return {};
    const auto& w = m_graph.value(n.inputs[1]).shape;
    int64_t K = 1;
    if (n.op_type == "Conv") {
        for (std::size_t i = 1; i < w.size(); ++i) K *= w[i];
    } else {
        K = m_graph.value(n.inputs[0]).shape.back();
        if (n.op_type == "Gemm" && n.attr_int("transA", 0) != 0) K = m_graph.value(n.inputs[0]).shape[0];
    }
    const int64_t N = n.op_type == "Conv" ? w[0] : m_graph.value(n.outputs[0]).shape.back();
    int64_t pn = std::min(chips, ceil_div(N, lanes));
    while (chips % pn != 0) --pn;
    const int64_t pk = chips / pn;
    if (ceil_div(K, lanes) < pk) return {};
    return {pn, pk};
}

std::vector<int64_t> Lowerer::broadcast(int from, uint64_t bytes, int64_t ready, const std::string& what) {
    std::vector<int64_t> at(static_cast<std::size_t>(m_spec.chips), ready);
    for (int d = 0; d < static_cast<int>(m_spec.chips); ++d)
        if (d != from)
            at[static_cast<std::size_t>(d)] =
                m_sched[static_cast<std::size_t>(from)]->send(*m_sched[static_cast<std::size_t>(d)], bytes, ready, what);
    return at;
}

// partition: tensor, over a grid of pn x pk chips (tensor_split). Chip (a, b) computes N tiles
// [a T_N / pn, (a + 1) T_N / pn) over K tiles [b T_K / pk, (b + 1) T_K / pk).
//   pk = 1: each chip's columns come out of its epilogue finished; it sends them (M x its
//     columns x the stored element) to every other chip over their direct links, all at once.
//   pk > 1: the chips of row a hold fp32 partial sums of the same columns; reduce-scatter: the
//     row's output vectors are cut into pk ranges and chip (a, b) sends range j (in fp32) to
//     chip (a, j), which adds the pk - 1 it receives to its own on the VXM (pk - 1 passes over
//     its range, the epilogue on the last) and sends the result to every other chip.
// The output is whole on a chip when the last block arrives. Latency of the node:
//   max over chips (GEMM share) [+ (range x 4 B) / link bandwidth + hops + (pk - 1) passes]
//     + (the chip's block x element) / link bandwidth + hop latency
// since a chip's links to the other chips carry in parallel.
void Lowerer::lower_split_mxm(const Node& n, const std::vector<const Node*>& fused, const std::string& residual, Split how) {
    const int P = static_cast<int>(m_spec.chips);
    const int64_t lanes = m_spec.lanes.lanes();
    const std::string& y = fused.empty() ? n.outputs[0] : fused.back()->outputs[0];
    const VectorShape out = vectors_of(m_graph.value(y).shape, lanes);
    const uint64_t out_bytes = bytes_of(y);
    // The GEMM's tiles, as lower_mxm counts them.
    const auto& w = m_graph.value(n.inputs[1]).shape;
    int64_t K = 1;
    if (n.op_type == "Conv") {
        for (std::size_t i = 1; i < w.size(); ++i) K *= w[i];
    } else {
        K = m_graph.value(n.inputs[0]).shape.back();
        if (n.op_type == "Gemm" && n.attr_int("transA", 0) != 0) K = m_graph.value(n.inputs[0]).shape[0];
    }
    const int64_t N = n.op_type == "Conv" ? w[0] : m_graph.value(n.outputs[0]).shape.back();
    const int64_t n_tiles = ceil_div(N, lanes), k_tiles = ceil_div(K, lanes);
    const int64_t rows = std::max<int64_t>(1, out.vectors / n_tiles);  // output vectors per N tile
    auto n_range = [&](int64_t a) { return std::make_pair(a * n_tiles / how.pn, (a + 1) * n_tiles / how.pn); };
    auto k_range = [&](int64_t b) { return std::make_pair(b * k_tiles / how.pk, (b + 1) * k_tiles / how.pk); };
    auto columns = [&](int64_t a) { return std::min(N, n_range(a).second * lanes) - n_range(a).first * lanes; };
    auto partial_name = [&](int c) { return y + ".partial" + std::to_string(c); };
    std::vector<int64_t> end(static_cast<std::size_t>(P));
    m_split_note = ", split over " + std::to_string(P) + " chips (" + std::to_string(how.pn) + " along N x " +
                   std::to_string(how.pk) + " along K)";
    for (int c = 0; c < P; ++c) {
        MxmShare share;
        std::tie(share.n0, share.n1) = n_range(c / how.pk);
        std::tie(share.k0, share.k1) = k_range(c % how.pk);
        if (how.pk > 1) share.partial = partial_name(c);
        m_replica = c > 0;
        lower_mxm(n, c, fused, residual, share);
        m_replica = false;
        end[static_cast<std::size_t>(c)] = m_ready[how.pk > 1 ? share.partial : y][c];
    }
    m_split_note.clear();
    std::vector<int64_t> ready = end;
    auto gather = [&](int from, uint64_t bytes, int64_t at) {
        const auto arrive = broadcast(from, bytes, at, "all-gather " + y);
        for (int d = 0; d < P; ++d)
            ready[static_cast<std::size_t>(d)] = std::max(ready[static_cast<std::size_t>(d)], arrive[static_cast<std::size_t>(d)]);
    };
    if (how.pk == 1) {
        for (int c = 0; c < P; ++c)
            gather(c, out_bytes / static_cast<uint64_t>(N) * static_cast<uint64_t>(std::max<int64_t>(0, columns(c))),
                   end[static_cast<std::size_t>(c)]);
    } else {
        const int width = m_spec.precision == Precision::Int8 ? 1 : 2;
        for (int c = 0; c < P; ++c) {
            // Chip c = (a, j) reduces range j of row a's vectors.
            const int64_t a = c / how.pk, j = c % how.pk;
            const int64_t V = rows * (n_range(a).second - n_range(a).first);
            const int64_t vj = (j + 1) * V / how.pk - j * V / how.pk;
            if (vj <= 0) continue;
            Scheduler& S = *m_sched[static_cast<std::size_t>(c)];
            const Location acc = m_loc[partial_name(c)][c];
            const Location dst = alloc_value(y, c, "act", banks_of({partial_name(c)}, c));
            m_loc[y][c] = dst;
            std::set<int> apart(acc.slices.begin(), acc.slices.end());
            apart.insert(dst.slices.begin(), dst.slices.end());
            int64_t t = end[static_cast<std::size_t>(c)];
            for (int64_t b = 0, pass = 0; b < how.pk; ++b) {
                const int from = static_cast<int>(a * how.pk + b);
                if (from == c) continue;
                const uint64_t bytes = static_cast<uint64_t>(vj) * static_cast<uint64_t>(out.length) * 4;
                const int64_t arrive =
                    m_sched[static_cast<std::size_t>(from)]->send(S, bytes, end[static_cast<std::size_t>(from)], "reduce-scatter " + y);
                const std::string recv = y + ".recv" + std::to_string(from) + "to" + std::to_string(c);
                const Location in = alloc(recv, bytes, c, "act", -1, vj, {}, apart);
                m_loc[recv][c] = in;
                // acc += received (fp32); the last pass applies the epilogue into the output.
                const bool last = ++pass == how.pk - 1;
                const Placed p = S.place({{S.mem_queue(acc.slice(0)), Op::Read, out.length, 4, acc.address(0), 1, 0},
                                          {"VXM." + std::to_string(m_next_vxm++ % kVxmQueues), Op::Vbinary, out.length,
                                           last ? width : 4, 0, 1, 0},
                                          {S.mem_queue(last ? dst.slice(0) : acc.slice(0)), Op::Write, out.length, 0,
                                           last ? dst.address(0) : acc.address(0) + 1, 1, 0}},
                                         vj, 1, std::max(t, arrive), n.name,
                                         {{S.mem_queue(in.slice(0)), Op::Read, out.length, 4, in.address(0), 1, 0}}, 1);
                t = p.end;
                release(recv);
            }
            gather(c, static_cast<uint64_t>(vj) * static_cast<uint64_t>(out.length) * element_bytes(), t);
        }
        for (int c = 0; c < P; ++c) release(partial_name(c));
    }
    for (int d = 0; d < P; ++d) {
        if (!m_loc[y].count(d)) m_loc[y][d] = alloc_value(y, d, "act");
        m_ready[y][d] = ready[static_cast<std::size_t>(d)];
    }
}

void Lowerer::lower_node(const Node& n, int chip) {
    const std::string& t = n.op_type;
    if (is_view_op(n) || t == "Reshape" || t == "Flatten" || t == "Squeeze" || t == "Unsqueeze") {
        m_alias[n.outputs[0]] = n.inputs[0];
        record({n.name, t, sim::Placement::Lowered, "none", "a view: addressing only", ""});
        const int64_t at = ready_on(n.inputs[0], chip);
        span(n, chip, at, at, 0, "view", 1.0);
        if (m_numerics && !m_replica) {
            NodeFunction fn = bind_node_function(m_graph, n);
            std::vector<std::string> ins;
            for (const auto& i : n.inputs)
                if (!i.empty() && !m_graph.is_constant(i)) ins.push_back(i);
            const std::string out = n.outputs[0];
            m_program.functions.emplace_back(n.name, [fn, ins, out](std::map<std::string, sim::Tensor>& v) {
                std::vector<sim::Tensor> a;
                for (const auto& i : ins) a.push_back(v.at(i));
                v[out] = fn(a).at(0);
            });
        }
        return;
    }
    if ((t == "Conv" || t == "Gemm" || t == "MatMul") && n.inputs.size() >= 2) {
        const bool depthwise = t == "Conv" && n.attr_int("group", 1) > 1 &&
                               n.attr_int("group", 1) == m_graph.value(n.inputs[0]).shape[1];
        if (depthwise) {  // one channel per group: a multiply-accumulate per tap on the VXM
            const auto& w = m_graph.value(n.inputs[1]).shape;
            int64_t taps = 1;
            for (std::size_t i = 2; i < w.size(); ++i) taps *= w[i];
            return lower_vector(n, chip, Op::Vbinary, 1, taps, Unit::Vxm);
        }
        if (m_graph.value(n.inputs[0]).shape.size() >= 2) {
            // partition: tensor: the node is lowered once, on every chip at once (its copies on
            // chips 1 and up are already placed).
            const Split split = m_tensor ? tensor_split(n) : Split{};
            if (split.split() && m_replica) return;
            // The epilogue takes a residual Add (its other input already computed) and an
            // activation; not after a K split, whose epilogue follows the reduction.
            const frontend::FusionChain chain = frontend::follower_chain(m_graph, m_readers, static_cast<std::size_t>(&n - m_graph.nodes.data()), 2);
            std::vector<const Node*> fused;
            std::string residual;
            auto is_act = [](const Node& c) { return c.op_type == "Relu" || c.op_type == "Clip" || c.op_type == "LeakyRelu"; };
            for (std::size_t k = 0; k < chain.followers.size() && split.pk == 1; ++k) {
                const Node& c = m_graph.nodes[chain.followers[k]];
                const std::string prev = fused.empty() ? n.outputs[0] : fused.back()->outputs[0];
                if (fused.empty() && c.op_type == "Add" && c.inputs.size() == 2 && residual.empty()) {
                    const std::string other = c.inputs[0] == prev ? c.inputs[1] : c.inputs[0];
                    std::string root = other;
                    while (m_alias.count(root)) root = m_alias.at(root);
                    const bool computed = m_ready.count(root) || std::find(m_graph.inputs.begin(), m_graph.inputs.end(), root) != m_graph.inputs.end();
                    if (!computed || m_graph.is_constant(other) || m_graph.value(other).shape != m_graph.value(c.outputs[0]).shape) break;
                    residual = other;
                    fused.push_back(&c);
                } else if (is_act(c)) {
                    fused.push_back(&c);
                    break;
                } else {
                    break;
                }
            }
            for (const Node* f : fused) m_fused.insert(f->name);
            if (split.split()) return lower_split_mxm(n, fused, residual, split);
            return lower_mxm(n, chip, fused, residual);
        }
    }
    if (kVxmOps.count(t)) {
        const bool transcendental = t == "Exp" || t == "Tanh" || t == "Sigmoid" || t == "Erf" || t == "Gelu" ||
                                    t == "Log" || t == "Softplus" || t == "Elu" || t == "Selu";
        const bool rsqrt = t == "Sqrt" || t == "Div" || t == "Reciprocal";  // no divide: RSqrt / reciprocal
        return lower_vector(n, chip, transcendental ? Op::Exp : rsqrt ? Op::Rsqrt : t == "Relu" ? Op::Relu : Op::Vbinary,
                            1, 1, Unit::Vxm);
    }
    if (kPoolOps.count(t)) {
        const auto& x = m_graph.value(n.inputs[0]).shape;
        int64_t taps = 1;
        if (t.rfind("Global", 0) == 0) {
            for (std::size_t i = 2; i < x.size(); ++i) taps *= x[i];
        } else {
            for (int64_t k : n.attr_ints("kernel_shape")) taps *= k;
        }
        return lower_vector(n, chip, Op::Vbinary, 1, std::max<int64_t>(1, taps), Unit::Vxm);
    }
    if (t == "Softmax" || t == "LogSoftmax") return lower_vector(n, chip, Op::Exp, 3, 1, Unit::Vxm);
    if (t == "LayerNormalization") return lower_vector(n, chip, Op::Rsqrt, 3, 1, Unit::Vxm);
    if (kReduceOps.count(t)) {
        const VectorShape in = vectors_of(m_graph.value(n.inputs[0]).shape, m_spec.lanes.lanes());
        const VectorShape out = vectors_of(m_graph.value(n.outputs[0]).shape, m_spec.lanes.lanes());
        return lower_vector(n, chip, Op::Vbinary, 1, std::max<int64_t>(1, ceil_div(in.vectors, std::max<int64_t>(1, out.vectors))),
                            Unit::Vxm);
    }
    if (kMoveOps.count(t)) return lower_vector(n, chip, Op::Permute, 1, 1, Unit::Sxm);
    lower_host(n, chip, t + " has no LPU lowering: the host runs it");
}

void Lowerer::run(LoweredModel& result) {
    const int chips = static_cast<int>(m_spec.chips);
    m_program.chips = chips;
    m_used.assign(static_cast<std::size_t>(chips),
                  std::vector<SliceHeap>(static_cast<std::size_t>(m_spec.mem.slices), SliceHeap(m_spec.mem.slice_bytes())));
    m_weight_bytes.assign(static_cast<std::size_t>(chips), 0);
    m_peak_act.assign(static_cast<std::size_t>(chips), 0);
    m_act_now.assign(static_cast<std::size_t>(chips), 0);
    m_plane_free_chip.assign(static_cast<std::size_t>(chips), std::vector<int64_t>(static_cast<std::size_t>(m_spec.mxm.planes), 0));
    m_plane_iw.assign(static_cast<std::size_t>(chips), std::vector<int64_t>(static_cast<std::size_t>(m_spec.mxm.planes), -1));
    for (int c = 0; c < chips; ++c) m_sched.push_back(std::make_unique<Scheduler>(m_spec, m_program, c));
    // Pipeline stages: contiguous nodes balanced by estimated cycles, a chip closed early when its
    // weights would pass 90% of its MEM. A model whose weights alone exceed the chips' MEM is
    // reported without scheduling it.
    const uint64_t chip_bytes = m_spec.mem.slice_bytes() * static_cast<uint64_t>(m_spec.mem.slices);
    std::vector<double> cost;
    double total = 0;
    uint64_t all_weights = 0;
    std::vector<uint64_t> wbytes;
    for (const auto& n : m_graph.nodes) {
        total += cost.emplace_back(estimate(n));
        all_weights += wbytes.emplace_back(weight_bytes(n));
    }
    auto mib = [](uint64_t b) { return std::to_string((b + (1 << 19)) >> 20); };
    auto chips_for = [&](uint64_t bytes) {
        int64_t n = 1;
        while (static_cast<uint64_t>(n) * chip_bytes < bytes) n *= 2;
        return n;
    };
    if (all_weights > static_cast<uint64_t>(chips) * chip_bytes) {
        // The partition closes a chip at 90% of its MEM in weights: count chips the same way.
        const int64_t needed = chips_for(all_weights * 10 / 9);
        result.notes.push_back("MEM: the weights alone take " + mib(all_weights) + " MiB; " + std::to_string(chips) +
                               " chip(s) hold " + mib(static_cast<uint64_t>(chips) * chip_bytes) + " MiB");
        result.notes.push_back("chips: the model needs at least " + std::to_string(needed) + " chip(s) (" + mib(all_weights) +
                               " MiB of weights, at most 90% of a chip's " + mib(chip_bytes) +
                               " MiB each, rounded up to a power of two); this run uses " +
                               std::to_string(chips));
        result.problems.push_back({"capacity", "mem", "the weights need " + mib(all_weights) + " MiB of MEM, " +
                                                          std::to_string(chips) + " chip(s) have " +
                                                          mib(static_cast<uint64_t>(chips) * chip_bytes) + " MiB; it needs " +
                                                          std::to_string(needed) + " chips: --set chips=" + std::to_string(needed)});
        result.placements = std::move(m_placements);
        return;
    }
    m_tensor = m_spec.partition == "tensor" && chips > 1;
    // A weight tile that planes of both hemispheres use is stored near each, unless the chips'
    // weights would not fit twice over in 90% of their MEM.
    m_one_copy = 2 * all_weights > static_cast<uint64_t>(chips) * chip_bytes * 9 / 10;
    std::vector<int> chip_of(m_graph.nodes.size(), 0);
    double acc = 0;
    int current = 0;
    uint64_t on_chip = 0;
    for (std::size_t i = 0; i < m_graph.nodes.size() && !m_tensor; ++i) {
        const int by_cycles = std::min(chips - 1, static_cast<int>(acc / total * chips));
        if (by_cycles > current || (on_chip + wbytes[i] > chip_bytes * 9 / 10 && current + 1 < chips && on_chip > 0)) {
            current = std::min(chips - 1, std::max(by_cycles, current + 1));
            on_chip = 0;
        }
        chip_of[i] = current;
        on_chip += wbytes[i];
        acc += cost[i];
    }
    for (std::size_t i = 0; i < m_graph.nodes.size(); ++i)
        for (const auto& in : m_graph.nodes[i].inputs)
            if (!in.empty()) m_last_use[in] = static_cast<int>(i);
    // A view's bytes are its input's: the input lives as long as the view's last reader.
    for (std::size_t i = m_graph.nodes.size(); i-- > 0;) {
        const Node& n = m_graph.nodes[i];
        if ((is_view_op(n) || n.op_type == "Reshape" || n.op_type == "Flatten" || n.op_type == "Squeeze" ||
             n.op_type == "Unsqueeze") && !n.inputs.empty() && m_last_use.count(n.outputs[0]))
            m_last_use[n.inputs[0]] = std::max(m_last_use[n.inputs[0]], m_last_use[n.outputs[0]]);
    }
    std::set<std::string> outputs(m_graph.outputs.begin(), m_graph.outputs.end());
    std::vector<std::vector<std::string>> frees_after(m_graph.nodes.size());
    for (const auto& [v, last] : m_last_use)
        if (!outputs.count(v) && !m_graph.is_constant(v)) frees_after[static_cast<std::size_t>(last)].push_back(v);
    for (const auto& in : m_graph.inputs) {
        m_program.graph_inputs.push_back(in);
        m_loc[in][0] = alloc_value(in, 0, "input");
    }
    for (std::size_t i = 0; i < m_graph.nodes.size(); ++i) {
        if (m_tensor && !m_fused.count(m_graph.nodes[i].name)) {
            // Every chip runs every node: a split MXM node its share, a host node only chip 0.
            for (int c = 0; c < chips; ++c) {
                m_replica = c > 0;
                lower_node(m_graph.nodes[i], c);
            }
            m_replica = false;
        } else if (!m_fused.count(m_graph.nodes[i].name)) {
            lower_node(m_graph.nodes[i], chip_of[i]);
        }
        // Activations no later node reads are freed (a view's input after the view's last reader,
        // which need not read the input itself).
        for (const auto& v : frees_after[i])
            if (!m_alias.count(v)) release(v);
    }
    for (const auto& out : m_graph.outputs) {
        if (m_graph.is_constant(out)) throw sim::UnsupportedError("lpu: graph output '" + out + "' is a constant");
        m_program.graph_outputs.push_back(out);
    }
    std::vector<uint64_t> instrs(static_cast<std::size_t>(chips), 0);
    for (const auto& i : m_program.instructions) ++instrs[static_cast<std::size_t>(i.chip)];
    uint64_t need_total = 0;
    // A chip's pipeline stage: from its first node's start to its last node's end (weight loads
    // ahead of the first input overlap the previous input).
    std::vector<int64_t> stage_start(static_cast<std::size_t>(chips), INT64_MAX), stage_end(static_cast<std::size_t>(chips), 0);
    for (const auto& sp : m_program.spans) {
        const auto c = static_cast<std::size_t>(sp.chip);
        stage_start[c] = std::min(stage_start[c], sp.start);
        stage_end[c] = std::max(stage_end[c], sp.end);
    }
    for (int c = 0; c < chips; ++c) {
        const auto cc = static_cast<std::size_t>(c);
        m_program.stage_cycles.push_back(stage_start[cc] == INT64_MAX ? 0 : stage_end[cc] - stage_start[cc]);
        const uint64_t prog = instrs[cc] * static_cast<uint64_t>(m_spec.icu.instruction_bytes);
        const uint64_t need = m_weight_bytes[cc] + m_peak_act[cc] + prog;
        need_total += need;
        uint64_t fullest = 0;
        int fullest_slice = 0;
        for (std::size_t s = 0; s < m_used[cc].size(); ++s)
            if (m_used[cc][s].peak > fullest) fullest = m_used[cc][s].peak, fullest_slice = static_cast<int>(s);
        result.notes.push_back("chip " + std::to_string(c) + " MEM: weights " + mib(m_weight_bytes[cc]) + " MiB + peak activations " +
                               mib(m_peak_act[cc]) + " MiB + program " + mib(prog) + " MiB = " + mib(need) + " of " +
                               mib(chip_bytes) + " MiB; fullest slice " + std::to_string(fullest_slice) + " at " +
                               std::to_string(static_cast<int>(100.0 * static_cast<double>(fullest) / static_cast<double>(m_spec.mem.slice_bytes()))) + "%");
        if (need > chip_bytes) m_out_of_memory = true;
    }
    const int64_t needed = chips_for(need_total);
    result.notes.push_back("chips: the model needs " + std::to_string(needed) + " chip(s) (" + std::to_string((need_total + (1 << 19)) >> 20) +
                           " MiB at " + std::to_string(chip_bytes >> 20) + " MiB a chip, rounded up to a power of two); this run uses " +
                           std::to_string(chips));
    if (m_out_of_memory)
        result.problems.push_back({"capacity", "mem",
                                   "the model needs " + std::to_string((need_total + (1 << 19)) >> 20) + " MiB of MEM on " +
                                       std::to_string(chips) + " chip(s) of " + std::to_string(chip_bytes >> 20) +
                                       " MiB (first tensor without room: " + m_oom_what + "); it needs " +
                                       std::to_string(needed) + " chips: --set chips=" + std::to_string(needed)});
    std::stable_sort(m_program.instructions.begin(), m_program.instructions.end(),
                     [](const Instr& a, const Instr& b) { return a.chip != b.chip ? a.chip < b.chip : a.cycle < b.cycle; });
    result.placements = std::move(m_placements);
}

class LpuLoweringPass : public LoweringFor<LpuSpec> {
  protected:
    LoweredModel lower_spec(const Graph& input, const LpuSpec& spec, const LowerOptions& options) const override {
        Graph graph = input;
        // A pre-quantized (QDQ) model brings its own int8 scales (frontends/lower/qdq.h).
        ModelQuantization model_quant;
        if (spec.precision == Precision::Int8) model_quant = fold_qdq(graph, spec.quant);
        frontend::fold_batchnorm(graph);
        unroll_loops(graph);  // a Loop of constant trip count as copies of its body
        unroll_recurrent(graph);  // LSTM/GRU/RNN as per-step MXM and VXM ops
        // Checked after the unrolls: a Loop of constant trip count has shapes once unrolled.
        require_mappable_shapes(graph, "lpu");
        auto program = std::make_unique<LpuProgram>();
        program->spec = spec;
        LoweredModel result;
        std::map<std::string, ValueRange> ranges;
        if (spec.precision == Precision::Int8 && !options.timing_only) {
            if (!options.calibration) throw sim::Error("lpu: an int8 lowering with numerics needs calibration samples");
            result.calibration.emplace();
            ranges = int8_ranges(graph, model_quant, *options.calibration, spec.quant, *result.calibration);
        }
        result.notes = qdq_notes(model_quant);
        if (!options.timing_only)
            for (const auto& [name, v] : graph.values)
                if (v.constant) program->constants[name] = *v.constant;
        Lowerer L(graph, spec, *program, !options.timing_only, ranges);
        L.run(result);
        if (!options.timing_only)  // the weights as the MXM holds them (rounded or quantized)
            for (auto& [name, t] : program->constants) t = *graph.value(name).constant;
        add_folded_placements(graph, result.placements);
        result.program = std::move(program);
        return result;
    }
};

const LoweringRegistration s_registration{"lpu", [] { return std::make_unique<LpuLoweringPass>(); }};

}  // namespace
}  // namespace xpusim::lower::lpu
