// Conv, Gemm and MatMul as the kernels cuBLAS / cuDNN / CUTLASS launch.
//
// Every one is a GEMM C (M x N) = A (M x K) B (K x N): a convolution as an implicit GEMM with
// M = N*P*Q, N = output channels, K = C*R*S. The kernel is chosen as the libraries choose it:
// each candidate CTA tile of the architecture (CUTLASS 3 sm90 shapes for Hopper's TMA + wgmma,
// CUTLASS 2 sm80 shapes with their stage counts for Ampere's cp.async + mma.sync, CUTLASS's SIMT
// sgemm tiles for fp32 without TF32) x split-K x stream-K (Hopper) (x cluster 1x1, 2x1, 1x2 on
// Hopper, whose TMA multicast halves one operand's L2 reads) is scored by a quick wave estimate
//   est = waves x (max(tile compute or issue, wave memory) + L2 latency) + split-K reduction
//   wave memory = max(a wave's L2 bytes / the L2's bandwidth, an SM's bytes / Little's law rate)
//   waves = ceil(tiles x splits / (SMs x CTAs per SM))
// (stream-K: one wave of persistent CTAs, each ceil(tiles x k-tiles / CTAs) iterations, plus its
// fixup; see stream_k_plan) and the best kept. M = 1 (or N = 1) takes a GEMV kernel; depthwise
// and grouped convolutions a direct SIMT kernel; an attention head ([Q, K scaled] -> MatMul ->
// [scale] -> [mask] -> Softmax -> [NaN guard] -> MatMul, see AttentionMatch) in fp16/bf16 one
// flash-attention kernel. In the fused profile a GEMM's epilogue takes the bias, a
// residual Add and the activation that follow it.
#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>

#include "frontends/lower/gpu/gpu_lowering.h"
#include "frontends/lower/host_fallback.h"
#include "frontends/lower/op_classes.h"
#include "sim/compute/conv2d.h"

namespace xpusim::lower::gpu {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

struct TileShape {
    int64_t m, n, k, stages, warps;  // stages 0: as many as fit (Hopper)
};

// CUTLASS 3 sm90 default-level CTA tiles (python/cutlass_library/sm90_shapes.py): the wgmma
// instruction shape x the MMA multiplier; K is 64 for 16-bit, 128 for 8-bit, 32 for tf32.
std::vector<TileShape> hopper_tiles(Precision p) {
    const int64_t k = p == Precision::Tf32 ? 32 : (p == Precision::Int8 || p == Precision::Fp8) ? 128 : 64;
    return {{128, 128, k, 0, 12}, {128, 256, k, 0, 12}, {256, 128, k, 0, 12}, {64, 128, k, 0, 12}, {64, 256, k, 0, 12}};
}

// CUTLASS 2 GenerateSM80_TensorOp_16816 tiles with their stages and warps (python/cutlass_library/
// generator.py); K halves for tf32 (4-byte operands), doubles for int8.
std::vector<TileShape> ampere_tiles(Precision p) {
    std::vector<TileShape> t = {{256, 128, 32, 3, 8}, {128, 256, 32, 3, 8}, {256, 64, 32, 4, 4}, {64, 256, 32, 4, 4},
                                {128, 128, 32, 5, 4}, {128, 64, 32, 6, 4},  {64, 128, 32, 6, 4}, {64, 64, 32, 10, 4},
                                {128, 128, 64, 4, 4}, {64, 64, 64, 5, 4}};
    for (auto& s : t) {
        if (p == Precision::Tf32) s.k /= 2;
        if (p == Precision::Int8) s.k *= 2;
    }
    return t;
}

// CUTLASS 2 GenerateSM80_Simt_f32 tiles (cutlass_80_simt_sgemm_<M>x<N>_8x<stages>) with their
// warps: BK = 8, and nothing smaller than 32 on a side or 64 x 64 in all.
std::vector<TileShape> simt_tiles() {
    return {{256, 128, 8, 5, 8}, {128, 256, 8, 5, 8}, {128, 128, 8, 5, 8}, {128, 64, 8, 5, 4},
            {64, 128, 8, 5, 4},  {64, 64, 8, 5, 2},   {128, 32, 8, 5, 2},  {32, 128, 8, 5, 2}};
}

// The operands and the output of a GEMM, and what the epilogue reads.
struct GemmOperands {
    int a = -1, b = -1, c = -1;
    uint64_t a_unique = 0, b_unique = 0, c_bytes = 0;
    std::vector<int> residuals;  // buffers the epilogue reads (a residual Add), each M x N
    int64_t epilogue_ops = 0;    // element-wise ops the epilogue applies per output
};

// Stream-K (Osama et al., "Stream-K: Work-centric Parallel Decomposition for Dense Matrix-Matrix
// Multiplication on the GPU", PPoPP 2023) as CUTLASS 3's sm90 stream-K tile scheduler lays it out
// (include/cutlass/gemm/kernel/tile_scheduler_params.h, PersistentTileSchedulerSm90StreamKParams;
// sm90_tile_scheduler_stream_k.hpp). One wave of persistent CTAs (`slots`: SMs x CTAs per SM in
// whole clusters) shares the MAC-loop iterations of the output tiles, tiles x k-tiles, evenly,
// so no CTA waits on a last partial wave. CUTLASS's data-parallel + stream-K hybrid: of
// full = tiles / slots whole waves, all but one run data-parallel (whole tiles), and the last
// full wave plus the partial one, sk_tiles = tiles - dp_waves x slots, go stream-K over
//   units = min(slots, sk_tiles x k_tiles / 8)           (at least 8 k-tiles a unit)
//   iterations per CTA = dp_waves x k_tiles + ceil(sk_tiles x k_tiles / units)
// A unit boundary inside a tile splits it between peers: the peer holding the tile's first
// k-tiles stores its fp32 partial tile to a workspace, a middle peer waits for its predecessor's
// flag and adds its own (read + write), and the peer holding the last k-tiles waits, reads the
// sum, adds it and runs the epilogue (CUTLASS's deterministic reduction). So a tile of p peers
// writes p - 1 partials and reads p - 1: partials written = read = the boundaries inside a tile.
// Units walk their tiles backwards (the scheduler's update_output_tile_id_and_work_tile_k), so a
// unit does the tile it finishes last, after its predecessor stored that tile's first part at the
// start of its own range: the flag is normally set when polled. Not modelled: CUTLASS moves a
// boundary within 8 k-tiles of a tile's edge onto the edge, shifting a few k-tiles between
// neighbouring units. As CUTLASS's get_num_sk_tiles under its default DecompositionMode::
// Heuristic, no stream-K without wave quantisation (tiles a multiple of slots), with k_tiles <= 8,
// or when the last partial wave is at least half full (its rule: data-parallel then); what
// remains competes in the wave estimate against data-parallel and split-K.
struct StreamKPlan {
    int64_t grid = 0;        // persistent CTAs (the stream-K units)
    int64_t dp_waves = 0;    // whole-tile waves each CTA runs before its stream-K share
    int64_t sk_tiles = 0;    // tiles the units share
    int64_t iterations = 0;  // MAC-loop iterations per CTA
    int64_t partials = 0;    // fp32 partial tiles written (and as many read back), all CTAs
};

bool stream_k_plan(int64_t tiles, int64_t k_tiles, int64_t slots, int64_t cluster, StreamKPlan& sk) {
    constexpr int64_t kMinIters = 8;  // CUTLASS min_iters_per_sk_unit_
    slots = slots / cluster * cluster;
    if (slots < 1 || tiles % slots == 0 || k_tiles <= kMinIters) return false;
    const int64_t full = tiles / slots;
    if (2 * (tiles - full * slots) >= slots) return false;
    sk.dp_waves = full > 1 ? full - 1 : 0;
    sk.sk_tiles = tiles - sk.dp_waves * slots;
    const int64_t total = sk.sk_tiles * k_tiles;
    const int64_t units = std::min(slots, total / kMinIters) / cluster * cluster;
    // With data-parallel waves every slot is a unit (sk_tiles > slots and k_tiles > 8), so
    // every CTA runs the same program; a smaller count would leave them unequal.
    if (units < 1 || (sk.dp_waves > 0 && units < slots)) return false;
    const int64_t per = total / units, big = total % units;  // the first `big` units do one more
    sk.grid = units;
    sk.iterations = sk.dp_waves * k_tiles + per + (big > 0 ? 1 : 0);
    sk.partials = 0;
    for (int64_t u = 1; u < units; ++u)
        if ((u * per + std::min(u, big)) % k_tiles != 0) ++sk.partials;
    return true;
}

struct GemmPlan {
    TileShape tile{};
    int64_t split = 1, stages = 1, smem = 0, threads = 128, registers = 128;
    int64_t cluster_m = 1, cluster_n = 1;  // Hopper thread-block cluster (TMA multicast)
    bool stream_k = false;
    StreamKPlan sk{};
    double estimate = 1e300;
};

int64_t mma_k(Precision p) {
    return p == Precision::Tf32 ? 8 : (p == Precision::Int8 || p == Precision::Fp8) ? 32 : 16;
}

}  // namespace

// How a split-K GEMM sums its partials: cuBLAS launches splitKreduce_kernel after the GEMM;
// cuDNN's implicit-GEMM convolutions reduce inside the kernel (CUTLASS's serial split-K: each
// split adds its fp32 partial tile into a workspace with red.global, and the last to arrive
// converts the sum and stores the output).
enum class SplitReduce { Kernel, InKernel };

// The kernel a GEMM of M x N x K (batch independent GEMMs) in `p` becomes, with its stream.
static void emit_gemm(GpuLowering& L, Kernel& kn, int64_t M, int64_t N, int64_t K, int64_t batch, Precision p,
                      const GemmOperands& ops, const std::string& reduce_node,
                      SplitReduce reduce = SplitReduce::Kernel) {
    const GpuSpec& s = L.spec;
    const bool tensor = p != Precision::Fp32;
    const int64_t eb = precision_bytes(p);
    const int64_t out_eb = L.element_bytes();
    const double sms = static_cast<double>(s.sm.count);
    const double clock_ratio = s.clock_mhz / s.tensor.clock_mhz;
    const double fp32_ratio = s.clock_mhz / s.fp32_clock_mhz();
    const double l2_bytes_per_cycle_per_sm =
        static_cast<double>(s.l2.slices) * s.l2.bytes_per_cycle_per_slice / sms;
    std::vector<TileShape> cands = !tensor ? simt_tiles() : s.arch == Arch::Hopper ? hopper_tiles(p) : ampere_tiles(p);
    GemmPlan best;
    for (const TileShape& t : cands) {
        const int64_t stage_bytes = (t.m + t.n) * t.k * eb;
        int64_t stages = t.stages;
        int64_t smem = 0, threads = t.warps * 32, regs = 128;
        if (tensor && s.arch == Arch::Hopper) {
            const int64_t carveout = 32 * 1024;  // epilogue staging (CUTLASS StageCountAutoCarveout)
            stages = std::min<int64_t>(8, (static_cast<int64_t>(s.sm.smem_bytes()) - s.sm.smem_per_cta_reserved - carveout) / stage_bytes);
            if (stages < 2) continue;
            smem = stages * stage_bytes + carveout;
            threads = 384;  // a producer and two consumer warp groups
            regs = 168;
        } else {
            smem = stages * stage_bytes;
            // SIMT: a thread's accumulators (its m n / threads micro-tile) plus about 64 for its
            // A and B fragments, addresses and the loop (128 for CUTLASS's 8 x 8 micro-tile).
            regs = tensor ? (t.m * t.n >= 128 * 256 ? 232 : 168)
                          : std::min<int64_t>(255, t.m * t.n / threads + 64);
            if (smem + s.sm.smem_per_cta_reserved > static_cast<int64_t>(s.sm.smem_bytes())) continue;
        }
        const int64_t regs_warp = (regs * 32 + s.sm.register_granule - 1) / s.sm.register_granule * s.sm.register_granule;
        int64_t occ = std::min({s.sm.max_ctas, s.sm.max_threads / threads, s.sm.max_warps / (threads / 32),
                                s.sm.registers / (regs_warp * (threads / 32)),
                                static_cast<int64_t>(s.sm.smem_bytes()) / (smem + s.sm.smem_per_cta_reserved)});
        if (occ < 1) continue;
        const int64_t k_tiles = ceil_div(K, t.k);
        // Hopper: CUTLASS's cluster shapes 1x1, 2x1 and 1x2. The CTAs of a 2x1 cluster share
        // their B tile and those of a 1x2 cluster their A tile: TMA multicasts it from one L2
        // read into both CTAs' shared memory, so each CTA pulls half of that operand.
        std::vector<std::pair<int64_t, int64_t>> clusters = {{1, 1}};
        if (tensor && s.arch == Arch::Hopper) {
            if (ceil_div(M, t.m) >= 2) clusters.push_back({2, 1});
            if (ceil_div(N, t.n) >= 2) clusters.push_back({1, 2});
        }
        for (const auto& [cm, cn] : clusters) {
            const int64_t tiles = ceil_div(ceil_div(M, t.m), cm) * cm * ceil_div(ceil_div(N, t.n), cn) * cn * batch;
            const int64_t l2_stage_bytes = (t.m / cn + t.n / cm) * t.k * eb;
            const double rate = tensor ? static_cast<double>(s.tensor.rate(p)) / clock_ratio
                                       : static_cast<double>(s.sm.fp32_lanes) / fp32_ratio;
            const double l2_latency = 0.5 * static_cast<double>(s.l2.latency_near_cycles + s.l2.latency_far_cycles);
            // The wave estimate of `ctas` CTAs of `iterations` MAC-loop iterations each.
            auto wave_estimate = [&](int64_t ctas, int64_t iterations) {
                const double waves = std::ceil(static_cast<double>(ctas) / (sms * static_cast<double>(occ)));
                const double iters = static_cast<double>(iterations);
                const double per_cta_compute = iters * static_cast<double>(t.m * t.n * t.k) / rate;
                // The busiest SM sets the wave: ceil(ctas / SMs) of them share its rates.
                const double resident = std::min<double>(static_cast<double>(occ), std::ceil(static_cast<double>(ctas) / sms));
                // SIMT: every FFMA is a warp instruction (its slot at sm.fp32_clock_mhz, plus ~6%
                // loads and address math), and a warp issues at most one per cycle, so CTAs of few
                // warps are issue-bound.
                const double issue = tensor ? 0.0
                                            : iters * static_cast<double>(t.m * t.n * t.k) / 32.0 * (fp32_ratio + 0.06) /
                                                  std::min<double>(static_cast<double>(s.sm.issue_per_cycle),
                                                                   static_cast<double>(t.warps) * std::max(1.0, resident));
                const double wave_compute = std::max(per_cta_compute, issue) * std::max(1.0, resident);
                const double wave_bytes = iters * static_cast<double>(l2_stage_bytes) * std::max(1.0, resident);
                // The L2 serves the whole wave: its bytes over the L2's bandwidth, however few SMs ask,
                // and an SM no faster than its bytes in flight over the L2 latency (Little's law).
                const double wave_memory =
                    std::max(wave_bytes * std::min(sms, static_cast<double>(ctas) / std::max(1.0, resident)) /
                                 (l2_bytes_per_cycle_per_sm * sms),
                             wave_bytes / (static_cast<double>(s.sm.bytes_in_flight) / std::max(1.0, l2_latency)));
                return waves * (std::max(wave_compute, wave_memory) + static_cast<double>(s.l2.latency_far_cycles));
            };
            auto keep = [&](double est, int64_t split, const StreamKPlan* sk) {
                if (est < best.estimate * 0.999) {
                    best.tile = t, best.split = split, best.stages = stages, best.smem = smem, best.threads = threads,
                    best.registers = regs, best.estimate = est, best.cluster_m = cm, best.cluster_n = cn;
                    best.stream_k = sk != nullptr;
                    best.sk = sk ? *sk : StreamKPlan{};
                }
            };
            for (int64_t split : {1, 2, 3, 4, 6, 8, 12, 16}) {
                if (split > 1 && ceil_div(k_tiles, split) < 4) break;
                double est = wave_estimate(tiles * split, ceil_div(k_tiles, split));
                if (split > 1)  // the partial sums go out in fp32 and a reduction reads them back
                    est += 2.0 * static_cast<double>(M * N * batch * split * 4) / (l2_bytes_per_cycle_per_sm * sms) +
                           (reduce == SplitReduce::Kernel ? s.launch.gap_us * s.clock_mhz : 0.0);
                keep(est, split, nullptr);
            }
            // Stream-K on Hopper's persistent TMA + wgmma kernels: CUTLASS 3 ships it for sm90 only
            // (StreamKScheduler), and the sm90 kernels cuBLAS and cuDNN launch carry a segment-K
            // switch in their names (sm90_xmma_gemm_..._execute_segment_k_on_kernel__5x_cublas,
            // sm90_xmma_dgrad_implicit_gemm_..._execute_segment_k_on_kernel__5x_cudnn in published
            // profiles, e.g. triton-lang/triton#3668, NVIDIA/TensorRT-LLM#1541). Their sm80
            // kernels (sm80_xmma_gemm_..._stage4_warpsize2x2x1_..., ampere_*gemm_*) carry none, and
            // cuBLAS on Ampere splits K with splitKreduce_kernel, so Ampere keeps split-K only.
            // SIMT sgemm is not persistent either.
            StreamKPlan sk;
            if (tensor && s.arch == Arch::Hopper && stream_k_plan(tiles, k_tiles, s.sm.count * occ, cm * cn, sk)) {
                //   est = wave estimate (grid CTAs of `iterations`: one wave)
                //       + 2 x partials x tile_m x tile_n x 4 B / the L2's bandwidth   (fixup traffic)
                //       + sm.barrier_cycles + L2 latency       (the flag, and the partial's read after it;
                //                                               the SM model times only the barrier)
                double est = wave_estimate(sk.grid, sk.iterations);
                if (sk.partials > 0)
                    est += 2.0 * static_cast<double>(sk.partials * t.m * t.n * 4) / (l2_bytes_per_cycle_per_sm * sms) +
                           static_cast<double>(s.sm.barrier_cycles) + l2_latency;
                keep(est, 1, &sk);
            }
        }
    }
    if (best.estimate >= 1e300)
        throw sim::UnsupportedError("gpu: no GEMM tile fits an SM for " + std::to_string(M) + "x" + std::to_string(N) +
                                    "x" + std::to_string(K));
    const TileShape& t = best.tile;
    const int64_t cm = best.cluster_m, cn = best.cluster_n;
    const int64_t tiles_m = ceil_div(ceil_div(M, t.m), cm) * cm, tiles_n = ceil_div(ceil_div(N, t.n), cn) * cn;
    const int64_t tiles = tiles_m * tiles_n * batch;
    const bool stream_k = best.stream_k;
    const int64_t k_split = ceil_div(ceil_div(K, t.k), best.split) * t.k;
    const int64_t k_work = k_split * best.split;  // the K extent each output tile runs, all its CTAs
    kn.grid = stream_k ? best.sk.grid : tiles * best.split;
    kn.cluster = cm * cn;
    kn.threads = best.threads;
    kn.registers = best.registers;
    kn.smem_bytes = best.smem;
    kn.tile_m = t.m, kn.tile_n = t.n, kn.tile_k = t.k, kn.split_k = best.split;
    kn.dtype = p;
    kn.flops = 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K) * static_cast<double>(batch);
    CtaProgram& c = kn.cta;
    c.iterations = stream_k ? best.sk.iterations : k_split / t.k;
    c.stages = best.stages;
    const int64_t a_tile = t.m * t.k * eb, b_tile = t.n * t.k * eb;
    if (tensor && s.arch == Arch::Hopper) {
        // CUTLASS names its stream-K kernels ..._stream_k_warpspecialized_cooperative.
        kn.name = stream_k ? "gemm_tma_wgmma_stream_k" : "gemm_tma_wgmma";
        kn.persistent = true;
        c.warp_specialized = true;
        c.prologue = {{Op::Mbarrier, 1, 0, 0, 0, 0, -1}};
        // Under a cluster each CTA issues its share of the multicast operand's tile.
        c.body = {{Op::TmaLoad, 1, a_tile / cn, 0, 0, 0, ops.a},
                  {Op::TmaLoad, 1, b_tile / cm, 0, 0, 0, ops.b},
                  {Op::Mbarrier, 1, 0, 0, 0, 0, -1},
                  {Op::Wgmma, (t.m / 64) * ceil_div(t.n, 256) * (t.k / mma_k(p)), 0, 64, std::min<int64_t>(t.n, 256), mma_k(p), -1}};
    } else if (tensor) {
        kn.name = "gemm_cpasync_mma";
        const int64_t warps_m = t.warps >= 8 ? (t.m >= t.n ? 4 : 2) : 2, warps_n = t.warps / warps_m;
        c.body = {{Op::CpAsync, 1, a_tile, 0, 0, 0, ops.a},
                  {Op::CpAsync, 1, b_tile, 0, 0, 0, ops.b},
                  {Op::Ldmatrix, 1, (t.m * warps_n + t.n * warps_m) * t.k * eb, 0, 0, 0, -1},
                  {Op::MmaSync, (t.m * t.n * t.k) / (16 * 8 * mma_k(p)), 0, 16, 8, mma_k(p), -1},
                  {Op::BarSync, 1, 0, 0, 0, 0, -1}};
    } else {
        // CUTLASS's SIMT sgemm: each thread holds a micro-tile of the CTA tile (8 x 8 for
        // 128 x 128 on 256 threads), a warp a 32 x (32 x micro-tile / 32) block. Per k step a
        // warp reads its A column and B row from shared memory with 128-bit loads (broadcast
        // within the warp, so the bytes are the warp's unique operands, at least one 128 B
        // wavefront per load), then issues micro-tile FFMAs per thread. Per iteration each
        // thread also computes addresses and the loop (about two integer ops per k step).
        kn.name = "sgemm_simt";
        const int64_t warps = kn.threads / 32;
        const int64_t per_thread = t.m * t.n / kn.threads;
        const int64_t warp_m = std::min<int64_t>(t.m, 32), warp_n = 32 * per_thread / warp_m;
        const int64_t side = static_cast<int64_t>(std::sqrt(static_cast<double>(per_thread)));
        const int64_t lds_per_k = std::max<int64_t>(2, 2 * side / 4);  // LDS.128 per thread per k
        const int64_t lds_bytes = std::max<int64_t>(128, (warp_m + warp_n) * 4 / lds_per_k);
        c.body = {{Op::CpAsync, 1, a_tile, 0, 0, 0, ops.a},
                  {Op::CpAsync, 1, b_tile, 0, 0, 0, ops.b},
                  {Op::LdShared, warps * t.k * lds_per_k, lds_bytes, 0, 0, 0, -1},
                  {Op::Ffma, t.m * t.n * t.k, 0, 0, 0, 0, -1},
                  {Op::Alu, kn.threads * 2 * t.k, 0, 0, 0, 0, -1},
                  {Op::BarSync, 1, 0, 0, 0, 0, -1}};
    }
    kn.bytes_in_flight = best.stages * (a_tile + b_tile);
    // Epilogue: apply the fused ops, read residuals, store C (fp32 partial sums under split-K).
    // A stream-K CTA runs the epilogue of tiles / grid output tiles on average (each tile's once,
    // by the CTA that finishes it).
    const int64_t outputs = t.m * t.n;
    auto per_cta = [&](int64_t per_tile) {
        return stream_k ? (per_tile * tiles + kn.grid / 2) / kn.grid : per_tile;
    };
    if (ops.epilogue_ops > 0) c.epilogue.push_back({Op::Ffma, per_cta(outputs * ops.epilogue_ops), 0, 0, 0, 0, -1});
    for (int r : ops.residuals) c.epilogue.push_back({Op::LdGlobal, 1, per_cta(outputs * out_eb), 0, 0, 0, r});
    const bool split = best.split > 1;
    const bool in_kernel = split && reduce == SplitReduce::InKernel;
    const uint64_t partials = static_cast<uint64_t>(M * N * batch * 4) * static_cast<uint64_t>(in_kernel ? 1 : best.split);
    const int c_buf = split ? L.workspace(kn.nodes.front() + ".split_k", partials) : ops.c;
    const Op store = tensor && s.arch == Arch::Hopper ? Op::TmaStore : Op::StGlobal;
    // Stream-K's fixup: per CTA on average partials / grid fp32 partial tiles out to the workspace
    // (one slot per stream-K tile, CUTLASS's reduction workspace), the flag, as many read back.
    const int64_t sk_bytes = best.sk.partials * outputs * 4;
    const uint64_t sk_workspace = static_cast<uint64_t>(best.sk.sk_tiles * outputs * 4);
    const int sk_buf = stream_k && sk_bytes > 0 ? L.workspace(kn.nodes.front() + ".stream_k", sk_workspace) : -1;
    if (stream_k) {
        if (sk_buf >= 0) {
            const int64_t share = (sk_bytes + kn.grid / 2) / kn.grid;
            c.epilogue.push_back({Op::StGlobal, 1, share, 0, 0, 0, sk_buf});
            c.epilogue.push_back({Op::Mbarrier, 1, 0, 0, 0, 0, -1});
            c.epilogue.push_back({Op::LdGlobal, 1, share, 0, 0, 0, sk_buf});
        }
        c.epilogue.push_back({store, 1, per_cta(outputs * out_eb), 0, 0, 0, ops.c});
    } else if (in_kernel) {
        // Every split adds its partial tile into the workspace; the last of a tile's splits (one
        // in `split`, so per CTA on average 1 / split of a tile) reads the sum back and stores it.
        c.epilogue.push_back({Op::RedGlobal, 1, outputs * 4, 0, 0, 0, c_buf});
        c.epilogue.push_back({Op::Mbarrier, 1, 0, 0, 0, 0, -1});
        c.epilogue.push_back({Op::LdGlobal, 1, outputs * 4 / best.split, 0, 0, 0, c_buf});
        c.epilogue.push_back({store, 1, outputs * out_eb / best.split, 0, 0, 0, ops.c});
    } else {
        c.epilogue.push_back({store, 1, outputs * (split ? 4 : out_eb), 0, 0, 0, c_buf});
    }
    // L2 traffic: A is re-read by every column of tiles (and each image of an implicit GEMM
    // reads its pixels R*S times through im2col), B by every row.
    const uint64_t a_total = static_cast<uint64_t>(tiles) * static_cast<uint64_t>(t.m * k_work * eb / cn);
    const uint64_t b_total = static_cast<uint64_t>(tiles) * static_cast<uint64_t>(t.n * k_work * eb / cm);
    // One wave of CTAs, rasterized as CUTLASS's swizzle does, covers a near-square block of
    // a x b tiles (a b = the CTAs of a wave, a chosen to minimise the bands it reads): it
    // re-reads a bands of A and b bands of B.
    const double wave = std::min<double>(static_cast<double>(kn.grid), static_cast<double>(s.sm.count) * 1.0);
    const double a_rows = std::clamp(std::sqrt(wave * static_cast<double>(t.n) / static_cast<double>(t.m)), 1.0,
                                     static_cast<double>(tiles_m));
    const double b_cols = std::min(static_cast<double>(tiles_n), std::ceil(wave / a_rows));
    kn.working_set = static_cast<uint64_t>((a_rows * static_cast<double>(t.m) + b_cols * static_cast<double>(t.n)) *
                                           static_cast<double>(k_work * eb));
    // Which re-reads can miss: the b_cols CTAs of a wave that share an A band read each k-slice
    // of it within moments of each other (hits, whatever the working set), so of a band's
    // tiles_n reads only the first of each later wave that reaches the band comes a whole wave's
    // working set after its last touch: ceil(tiles_n / b_cols) - 1 of tiles_n. B likewise with
    // a_rows and tiles_m.
    auto far = [](uint64_t total, double per_band, double per_wave) {
        return static_cast<int64_t>(static_cast<double>(total) * (std::ceil(per_band / per_wave) - 1.0) / per_band);
    };
    KernelArg a_arg{ops.a, ops.a_unique, std::max(ops.a_unique, a_total), false};
    a_arg.far_bytes = far(a_arg.total_bytes, static_cast<double>(tiles_n), b_cols);
    KernelArg b_arg{ops.b, ops.b_unique, std::max(ops.b_unique, b_total), false};
    b_arg.far_bytes = far(b_arg.total_bytes, static_cast<double>(tiles_m), a_rows);
    kn.args.push_back(a_arg);
    kn.args.push_back(b_arg);
    for (int r : ops.residuals) kn.args.push_back({r, ops.c_bytes, ops.c_bytes, false});
    const uint64_t c_total = split ? static_cast<uint64_t>(M * N * batch * best.split * 4) : ops.c_bytes;
    kn.args.push_back({c_buf, split ? partials : ops.c_bytes, c_total, true});  // C in its own dtype; fp32 partials under split-K
    if (sk_buf >= 0) {
        // The partials touch at most `partials` tile slots of the workspace, and each is read back
        // within the kernel from the L2 its peer wrote it to: no unique bytes, so no misses.
        const uint64_t bytes = static_cast<uint64_t>(sk_bytes);
        kn.args.push_back({sk_buf, std::min(sk_workspace, bytes), bytes, true});
        kn.args.push_back({sk_buf, 0, bytes, false});
    }
    if (in_kernel) {
        kn.args.push_back({c_buf, partials, partials, false});
        kn.args.push_back({ops.c, ops.c_bytes, ops.c_bytes, true});
    }
    if (split && !in_kernel) {  // cuBLAS's splitKreduce_kernel: sum the partials, apply the epilogue
        Kernel& red = L.add_kernel("splitk_reduce", {reduce_node});
        const int64_t elems = M * N * batch;
        red.threads = 256;
        red.grid = std::max<int64_t>(1, ceil_div(elems, 256 * 4));
        red.registers = 32;
        red.dtype = p;
        red.bytes_in_flight = 256 * 16 * 2;
        red.cta.body = {{Op::LdGlobal, best.split, 256 * 4 * 4, 0, 0, 0, c_buf},
                        {Op::Ffma, 256 * 4 * (best.split + ops.epilogue_ops), 0, 0, 0, 0, -1},
                        {Op::StGlobal, 1, 256 * 4 * out_eb, 0, 0, 0, ops.c}};
        red.cta.iterations = 1;
        red.args = {{c_buf, c_total, c_total, false}, {ops.c, ops.c_bytes, ops.c_bytes, true}};
        if (L.numerics) L.program.functions[red.id] = nullptr;  // the GEMM's function has the sums
    }
}

namespace {

// Element-wise ops a GEMM epilogue takes in the fused profile, and how many ops each costs.
int64_t epilogue_cost(const std::string& op) {
    if (op == "Relu" || op == "Clip" || op == "LeakyRelu" || op == "Add" || op == "Mul" || op == "Sub") return 1;
    if (op == "Sigmoid" || op == "Tanh" || op == "HardSwish" || op == "HardSigmoid" || op == "Gelu") return 4;
    return 0;
}

// The epilogue: the nodes after `head` it absorbs, their ops and residual buffers. The fused
// profile takes a bias or residual Add of the output's shape and activations. pytorch_eager takes
// only a Linear's bias: exporters write a Linear on 3-D input as MatMul(x, W) + Add(b), and
// at::linear runs it as one addmm whose cuBLASLt epilogue adds the bias.
std::vector<const Node*> fuse_epilogue(GpuLowering& L, const Node& head, GemmOperands& ops, std::string& out) {
    std::vector<const Node*> fused;
    out = head.outputs[0];
    const auto& out_shape = L.graph.value(out).shape;
    if (!L.spec.fused()) {
        if (head.op_type != "MatMul" || !L.graph.is_constant(head.inputs[1]) || out_shape.empty()) return fused;
        const auto chain = frontend::follower_chain(L.graph, L.readers, L.index_of(head), 1).followers;
        if (chain.empty()) return fused;
        const Node& add = L.graph.nodes[chain[0]];
        if (add.op_type != "Add") return fused;
        const std::string& bias = add.inputs[0] == out ? add.inputs[1] : add.inputs[0];
        if (!L.graph.is_constant(bias) || L.graph.value(bias).constant->numel() != out_shape.back() ||
            L.graph.value(add.outputs[0]).shape != out_shape)
            return fused;
        ops.epilogue_ops += 1;
        fused.push_back(&add);
        out = add.outputs[0];
        return fused;
    }
    const auto chain = frontend::follower_chain(L.graph, L.readers, L.index_of(head), 4).followers;
    for (std::size_t at : chain) {
        const Node* f = &L.graph.nodes[at];
        const int64_t cost = epilogue_cost(f->op_type);
        if (cost == 0) break;
        if (f->op_type == "Add" || f->op_type == "Mul" || f->op_type == "Sub") {
            const std::string& other = f->inputs[0] == out ? f->inputs[1] : f->inputs[0];
            const auto& ov = L.graph.value(other);
            if (!L.graph.is_constant(other)) {
                if (ov.shape != out_shape) break;
                ops.residuals.push_back(L.buffer(other));
            }
        }
        ops.epilogue_ops += cost;
        fused.push_back(f);
        out = f->outputs[0];
    }
    return fused;
}

std::vector<float> as_floats(const sim::Tensor& t) {
    const sim::Tensor f = t.dtype() == sim::DType::Float32 ? t : t.cast(sim::DType::Float32);
    return std::vector<float>(f.data<float>(), f.data<float>() + f.numel());
}

float absmax_scale(const GpuLowering& L, const std::string& value, Precision p) {
    auto it = L.ranges.find(value);
    const float amax = it == L.ranges.end() ? 1.0f : std::max(1e-12f, it->second.covered(L.spec.quant));
    return p == Precision::Fp8 ? amax / 448.0f : symmetric_scale(amax);
}

// Column scales of B (K x N) for int8 / fp8: per output channel, or one for the tensor.
std::vector<float> column_scales(const GpuLowering& L, const std::vector<float>& b, int64_t K, int64_t N, Precision p) {
    std::vector<float> amax(static_cast<std::size_t>(N), 0.0f);
    for (int64_t k = 0; k < K; ++k)
        for (int64_t j = 0; j < N; ++j) amax[static_cast<std::size_t>(j)] = std::max(amax[static_cast<std::size_t>(j)], std::fabs(b[static_cast<std::size_t>(k * N + j)]));
    if (!L.spec.quant.per_channel) {
        const float all = *std::max_element(amax.begin(), amax.end());
        std::fill(amax.begin(), amax.end(), all);
    }
    for (float& a : amax) a = std::max(1e-12f, a) / (p == Precision::Fp8 ? 448.0f : 127.0f);
    return amax;
}

GemmNumerics numerics_for(const GpuLowering& L, const Kernel& k, const std::string& a_value, const std::vector<float>* b, int64_t K, int64_t N) {
    GemmNumerics g;
    g.dtype = k.dtype;
    g.tile_k = k.tile_k > 0 ? k.tile_k : 32;
    if (k.dtype == Precision::Int8 || k.dtype == Precision::Fp8) {
        g.a_scale = absmax_scale(L, a_value, k.dtype);
        if (b) g.b_scales = column_scales(L, *b, K, N, k.dtype);
    }
    return g;
}

// Applies the fused followers (their reference kernels) after the GEMM's own output.
void run_followers(const std::vector<KernelFunction>& fs, std::map<std::string, sim::Tensor>& values) {
    for (const auto& f : fs) f(values);
}

bool lower_conv(GpuLowering& L, const Node& n, std::string& why) {
    const auto& xv = L.graph.value(n.inputs[0]);
    const auto& yv = L.graph.value(n.outputs[0]);
    if (!L.graph.is_constant(n.inputs[1])) return why = "weights are not constant", false;
    if (xv.shape.size() != 4 && xv.shape.size() != 3) return why = "only 1-D and 2-D convolutions", false;
    const sim::Tensor& w = *L.graph.value(n.inputs[1]).constant;
    const bool one_d = xv.shape.size() == 3;
    sim::Conv2dShape c;
    c.batch = xv.shape[0];
    c.in_channels = xv.shape[1];
    c.in_h = one_d ? 1 : xv.shape[2];
    c.in_w = xv.shape.back();
    c.out_channels = w.dim(0);
    c.kernel_h = one_d ? 1 : w.dim(2);
    c.kernel_w = w.shape().back();
    c.group = n.attr_int("group", 1);
    const auto strides = n.attr_ints("strides", std::vector<int64_t>(one_d ? 1 : 2, 1));
    const auto dil = n.attr_ints("dilations", std::vector<int64_t>(one_d ? 1 : 2, 1));
    c.stride_h = one_d ? 1 : strides[0], c.stride_w = strides.back();
    c.dilation_h = one_d ? 1 : dil[0], c.dilation_w = dil.back();
    const int64_t out_h = one_d ? 1 : yv.shape[2], out_w = yv.shape.back();
    // Padding from the inferred output size (covers every auto_pad): total = (out-1)s + d(k-1) + 1 - in.
    auto pads_for = [&](int64_t in, int64_t out, int64_t k, int64_t s, int64_t d, int64_t axis, int64_t& b, int64_t& e) {
        const std::string ap = n.attr_string("auto_pad", "NOTSET");
        if (ap == "NOTSET" || ap.empty()) {
            const int64_t rank = one_d ? 1 : 2;
            const auto pads = n.attr_ints("pads", std::vector<int64_t>(2 * rank, 0));
            b = pads[static_cast<std::size_t>(axis)], e = pads[static_cast<std::size_t>(axis + rank)];
            return;
        }
        const int64_t total = std::max<int64_t>(0, (out - 1) * s + d * (k - 1) + 1 - in);
        b = ap == "SAME_LOWER" ? total - total / 2 : total / 2;
        e = total - b;
    };
    if (!one_d) pads_for(c.in_h, out_h, c.kernel_h, c.stride_h, c.dilation_h, 0, c.pad_top, c.pad_bottom);
    pads_for(c.in_w, out_w, c.kernel_w, c.stride_w, c.dilation_w, one_d ? 0 : 1, c.pad_left, c.pad_right);
    if (c.out_h() != out_h || c.out_w() != out_w) return why = "unsupported padding", false;
    const Precision p = L.spec.precision;
    const int64_t M = c.batch * c.gemm_m(), N = c.gemm_n(), K = c.gemm_k();
    GemmOperands ops;
    ops.a = L.buffer(n.inputs[0]);
    ops.b = L.buffer(n.inputs[1]);
    ops.a_unique = L.bytes_of(n.inputs[0]);
    ops.b_unique = L.bytes_of(n.inputs[1]);
    std::string out;
    const bool bias = n.has_input(2);
    const auto fused = fuse_epilogue(L, n, ops, out);
    if (bias && L.spec.fused()) ops.epilogue_ops += 1;
    ops.c = L.buffer(out);
    ops.c_bytes = L.bytes_of(out);
    std::vector<std::string> nodes = {n.name};
    for (const Node* f : fused) nodes.push_back(f->name);
    const bool tensor_conv = p != Precision::Fp32;
    const bool transposes = tensor_conv && !L.spec.nhwc() && c.group == 1;
    if (transposes) add_layout_transpose(L, n, n.inputs[0], "nchw_to_nhwc");
    Kernel* kp;
    if (c.group > 1) {
        // Depthwise / grouped: a direct SIMT kernel, one thread per output element.
        Kernel& k = L.add_kernel(c.group == c.in_channels ? "conv_depthwise_direct" : "conv_grouped_direct", nodes);
        const int64_t outputs = c.batch * c.out_channels * c.gemm_m();
        const int64_t taps = c.in_channels_per_group() * c.kernel_h * c.kernel_w;
        k.threads = 256;
        k.grid = std::max<int64_t>(1, ceil_div(outputs, 256));
        k.registers = 40;
        k.dtype = p == Precision::Tf32 ? Precision::Fp32 : p;
        k.flops = 2.0 * static_cast<double>(outputs) * static_cast<double>(taps);
        k.bytes_in_flight = 256 * 16;
        const int64_t eb = L.element_bytes();
        // Each thread reads its window (neighbours share most of it through L1): the L2 sees
        // about the input once, the requests R*S/stride^2 times it.
        k.cta.iterations = 1;
        k.cta.body = {{Op::LdGlobal, 1, 256 * taps * eb / std::max<int64_t>(1, c.stride_h * c.stride_w), 0, 0, 0, ops.a},
                      {Op::Ffma, 256 * (taps + ops.epilogue_ops), 0, 0, 0, 0, -1},
                      {Op::StGlobal, 1, 256 * eb, 0, 0, 0, ops.c}};
        const uint64_t requested = static_cast<uint64_t>(outputs * taps * eb / std::max<int64_t>(1, c.stride_h * c.stride_w));
        k.args = {{ops.a, ops.a_unique, std::max(ops.a_unique, requested), false},
                  {ops.b, ops.b_unique, ops.b_unique, false},
                  {ops.c, ops.c_bytes, ops.c_bytes, true}};
        for (int r : ops.residuals) k.args.push_back({r, ops.c_bytes, ops.c_bytes, false});
        kp = &k;
    } else {
        const int gid = L.add_kernel("gemm", nodes).id;
        emit_gemm(L, L.program.kernels[static_cast<std::size_t>(gid)], M, N, K, 1, p, ops, n.name, SplitReduce::InKernel);
        Kernel& g = L.program.kernels[static_cast<std::size_t>(gid)];  // (emit_gemm may add a reduction)
        g.name = "conv_implicit_" + g.name;
        kp = &g;
    }
    const int kid = kp->id;
    if (transposes) add_layout_transpose(L, n, out, "nhwc_to_nchw");
    if (bias && !L.spec.fused()) {  // eager: the bias is its own element-wise kernel (at::add_)
        Kernel& b = L.add_kernel("elementwise_bias", {n.name});
        const int64_t elems = c.batch * c.out_channels * c.gemm_m();
        b.threads = 128;
        b.grid = std::max<int64_t>(1, ceil_div(elems, 128 * 8));
        b.dtype = p;
        b.bytes_in_flight = 128 * 16;
        b.cta.iterations = 1;
        b.cta.body = {{Op::LdGlobal, 1, 128 * 8 * L.element_bytes(), 0, 0, 0, ops.c},
                      {Op::Ffma, 128 * 8, 0, 0, 0, 0, -1},
                      {Op::StGlobal, 1, 128 * 8 * L.element_bytes(), 0, 0, 0, ops.c}};
        b.args = {{ops.c, ops.c_bytes, ops.c_bytes, false}, {ops.c, ops.c_bytes, ops.c_bytes, true}};
        if (L.numerics) L.program.functions[b.id] = nullptr;  // the conv's function adds the bias
    }
    for (const Node* f : fused) L.fused_nodes.insert(f->name);
    L.place(n, sim::Placement::Native, "sm", c.group > 1 ? "direct SIMT convolution (" + std::to_string(c.group) + " groups)" : "");
    for (const Node* f : fused) L.place(*f, sim::Placement::Lowered, "sm", "fused into " + n.name + "'s epilogue");
    if (!L.numerics) return true;
    // Numbers: per image and group, the GEMM in the kernel's precision and K-tile order
    // (conv_numerics, gpu_numerics.cpp).
    const int64_t Ng = c.gemm_n(), Kg = c.gemm_k();
    const Kernel& kk = L.program.kernels[static_cast<std::size_t>(kid)];
    auto cn = std::make_shared<ConvNumerics>();
    cn->shape = c;
    cn->output = p;
    if (bias) cn->bias = as_floats(*L.graph.value(n.inputs[2]).constant);
    if (kk.dtype == Precision::Int8 || kk.dtype == Precision::Fp8) {
        // Weights as B (Kg x Ng per group), unrounded: the GEMM quantizes them per column.
        const auto wf = as_floats(w);
        for (int64_t g = 0; g < c.group; ++g) {
            std::vector<float> bm(static_cast<std::size_t>(Kg * Ng));
            for (int64_t o = 0; o < Ng; ++o)
                for (int64_t k = 0; k < Kg; ++k) bm[static_cast<std::size_t>(k * Ng + o)] = wf[static_cast<std::size_t>((g * Ng + o) * Kg + k)];
            cn->gemm.push_back(numerics_for(L, kk, n.inputs[0], &bm, Kg, Ng));
            cn->b_mats.push_back(std::move(bm));
        }
    } else {
        // W is the weight as the program stores it (O x Cg*R*S, rounded to the precision, which
        // is the kernel's here), shared rather than copied.
        cn->weights = L.program.constants.at(n.inputs[1]);
        for (int64_t g = 0; g < c.group; ++g) cn->gemm.push_back(numerics_for(L, kk, n.inputs[0], nullptr, Kg, Ng));
    }
    if (c.group > 1) for (auto& g : cn->gemm) g.dtype = g.dtype == Precision::Tf32 ? Precision::Fp32 : g.dtype;
    std::vector<KernelFunction> followers;
    for (const Node* f : fused) followers.push_back(node_function(L, *f));
    const std::string x = n.inputs[0], y = n.outputs[0];
    std::shared_ptr<const ConvNumerics> numbers = cn;
    L.program.functions[kid] = [numbers, followers, x, y](std::map<std::string, sim::Tensor>& values) {
        const sim::Tensor out = conv_numerics(*numbers, values.at(x));
        values[y] = out.reshaped(values.count(y) ? values.at(y).shape() : out.shape());
        run_followers(followers, values);
    };
    return true;
}

// Gemm (alpha * A' B' + beta * C) and MatMul with a constant B: a GEMM (GEMV for one row).
bool lower_dense(GpuLowering& L, const Node& n, std::string& why) {
    const bool is_gemm = n.op_type == "Gemm";
    const auto& av = L.graph.value(n.inputs[0]);
    const auto& bv = L.graph.value(n.inputs[1]);
    if (av.shape.size() < 2 || bv.shape.size() < 2) return why = "1-D MatMul operands", false;
    const bool trans_a = is_gemm && n.attr_int("transA", 0) != 0;
    const bool trans_b = is_gemm && n.attr_int("transB", 0) != 0;
    const int64_t K = trans_a ? av.shape[0] : av.shape.back();
    const int64_t rows = trans_a ? av.shape[1] : av.shape[av.shape.size() - 2];
    const int64_t N = trans_b ? bv.shape[0] : bv.shape.back();
    const int64_t a_batch = is_gemm ? 1 : sim::shape_numel(sim::Shape(av.shape.begin(), av.shape.end() - 2));
    const int64_t b_batch = is_gemm ? 1 : sim::shape_numel(sim::Shape(bv.shape.begin(), bv.shape.end() - 2));
    const bool b_const = L.graph.is_constant(n.inputs[1]);
    const Precision p = L.spec.precision;
    // A constant B shared by every batch element flattens the batch into M.
    const bool flatten = b_batch == 1;
    const int64_t M = flatten ? a_batch * rows : rows;
    const int64_t batch = flatten ? 1 : std::max(a_batch, b_batch);
    if (!flatten && a_batch != b_batch && a_batch != 1) return why = "broadcast batch dimensions", false;
    GemmOperands ops;
    ops.a = L.buffer(n.inputs[0]);
    ops.b = L.buffer(n.inputs[1]);
    ops.a_unique = L.bytes_of(n.inputs[0]);
    ops.b_unique = L.bytes_of(n.inputs[1]);
    std::string out;
    const auto fused = fuse_epilogue(L, n, ops, out);
    if (is_gemm && n.has_input(2)) ops.epilogue_ops += 1;  // cuBLASLt's bias epilogue
    ops.c = L.buffer(out);
    ops.c_bytes = L.bytes_of(out);
    std::vector<std::string> nodes = {n.name};
    for (const Node* f : fused) nodes.push_back(f->name);
    if (is_gemm && n.has_input(2) && !L.graph.is_constant(n.inputs[2])) ops.residuals.push_back(L.buffer(n.inputs[2]));
    const int kid = L.add_kernel("gemm", nodes).id;
    if ((M == 1 || N == 1) && batch == 1) {
        Kernel& k = L.program.kernels[static_cast<std::size_t>(kid)];
        // GEMV: each of a CTA's 4 warps streams the slices of B of cols / 4 output columns;
        // memory-bound, so its speed is the bytes it keeps in flight. Like the GEMV dispatchers
        // that size their grid to the device, it takes the widest CTA (at most 64 columns, at
        // least 4) whose grid still puts a CTA on every SM: 16 for 4096 outputs on 132 SMs.
        const int64_t outs = std::max(M, N), reduce = K;
        int64_t cols = 64;
        while (cols > 4 && ceil_div(outs, cols) < L.spec.sm.count) cols /= 2;
        k.name = "gemv";
        k.threads = 128;
        k.grid = ceil_div(outs, cols) * batch;
        k.registers = 64;
        k.dtype = p == Precision::Tf32 ? Precision::Fp32 : p;
        k.flops = 2.0 * static_cast<double>(outs) * static_cast<double>(reduce) * static_cast<double>(batch);
        k.bytes_in_flight = 128 * 16 * 4;
        const int64_t eb = precision_bytes(p);
        const int64_t chunk = 512;  // K elements per loop iteration
        k.cta.iterations = ceil_div(reduce, chunk);
        k.cta.body = {{Op::LdGlobal, 1, cols * chunk * eb, 0, 0, 0, ops.b},
                      {Op::LdGlobal, 1, chunk * eb, 0, 0, 0, ops.a},
                      {Op::Ffma, cols * chunk, 0, 0, 0, 0, -1}};
        k.cta.epilogue = {{Op::Shfl, cols * 5, 0, 0, 0, 0, -1}, {Op::StGlobal, 1, cols * L.element_bytes(), 0, 0, 0, ops.c}};
        k.args = {{ops.a, ops.a_unique, ops.a_unique * static_cast<uint64_t>(k.grid), false},
                  {ops.b, ops.b_unique, ops.b_unique, false},
                  {ops.c, ops.c_bytes, ops.c_bytes, true}};
        for (int r : ops.residuals) k.args.push_back({r, ops.c_bytes, ops.c_bytes, false});
    } else {
        emit_gemm(L, L.program.kernels[static_cast<std::size_t>(kid)], M, N, K, batch, p, ops, n.name);
        Kernel& g = L.program.kernels[static_cast<std::size_t>(kid)];
        if (!b_const) g.name = "bmm_" + g.name;
    }
    for (const Node* f : fused) L.fused_nodes.insert(f->name);
    L.place(n, sim::Placement::Native, "sm", "");
    for (const Node* f : fused) L.place(*f, sim::Placement::Lowered, "sm", "fused into " + n.name + "'s epilogue");
    if (!L.numerics) return true;
    const Kernel& kk = L.program.kernels[static_cast<std::size_t>(kid)];
    std::vector<float> bconst;
    if (b_const) {
        const auto bf = as_floats(*bv.constant);
        bconst.assign(static_cast<std::size_t>(K * N), 0.0f);
        for (int64_t kx = 0; kx < K; ++kx)
            for (int64_t j = 0; j < N; ++j) bconst[static_cast<std::size_t>(kx * N + j)] = trans_b ? bf[static_cast<std::size_t>(j * K + kx)] : bf[static_cast<std::size_t>(kx * N + j)];
        if (is_gemm) for (float& x : bconst) x *= static_cast<float>(n.attr_float("alpha", 1.0));
        if (kk.dtype == Precision::Fp16 || kk.dtype == Precision::Bf16) {
            sim::Tensor t(sim::DType::Float32, {static_cast<int64_t>(bconst.size())});
            std::copy(bconst.begin(), bconst.end(), t.data<float>());
            round_to_precision(t, kk.dtype);
            std::copy(t.data<float>(), t.data<float>() + t.numel(), bconst.begin());
        }
    }
    GemmNumerics gn = numerics_for(L, kk, n.inputs[0], b_const ? &bconst : nullptr, K, N);
    if (!b_const && (gn.dtype == Precision::Int8 || gn.dtype == Precision::Fp8)) gn.b_scale_default = absmax_scale(L, n.inputs[1], gn.dtype);
    std::vector<float> cvec;
    float beta = 1;
    if (is_gemm && n.has_input(2) && L.graph.is_constant(n.inputs[2])) {
        cvec = as_floats(*L.graph.value(n.inputs[2]).constant);
        beta = static_cast<float>(n.attr_float("beta", 1.0));
    }
    std::vector<KernelFunction> followers;
    for (const Node* f : fused) followers.push_back(node_function(L, *f));
    const std::string a_name = n.inputs[0], b_name = n.inputs[1], y = n.outputs[0];
    const std::string c_name = is_gemm && n.has_input(2) && !L.graph.is_constant(n.inputs[2]) ? n.inputs[2] : "";
    const sim::Shape out_shape = L.graph.value(y).shape;
    const Precision prec = p;
    const float alpha = is_gemm ? static_cast<float>(n.attr_float("alpha", 1.0)) : 1.0f;
    L.program.functions[kid] = [=](std::map<std::string, sim::Tensor>& values) {
        const sim::Tensor& A = values.at(a_name);
        sim::Tensor out(sim::DType::Float32, out_shape);
        std::vector<float> at(static_cast<std::size_t>(rows * K)), bt(static_cast<std::size_t>(K * N));
        const int64_t nb = flatten ? 1 : batch;
        const int64_t m_rows = flatten ? M : rows;
        std::vector<float> res(static_cast<std::size_t>(m_rows * N));
        for (int64_t b = 0; b < nb; ++b) {
            const float* a = A.data<float>() + (a_batch == 1 ? 0 : b * rows * K);
            std::vector<float> a_buf;
            if (trans_a) {
                a_buf.resize(static_cast<std::size_t>(rows * K));
                for (int64_t i = 0; i < rows; ++i)
                    for (int64_t kx = 0; kx < K; ++kx) a_buf[static_cast<std::size_t>(i * K + kx)] = a[kx * rows + i];
                a = a_buf.data();
            }
            const float* bp = bconst.data();
            std::vector<float> b_buf;
            if (!b_const) {
                const sim::Tensor& B = values.at(b_name);
                const float* src = B.data<float>() + (b_batch == 1 ? 0 : b * K * N);
                b_buf.assign(src, src + K * N);
                if (alpha != 1.0f) for (float& x : b_buf) x *= alpha;
                bp = b_buf.data();
            }
            gemm(gn, a, bp, res.data(), m_rows, N, K);
            float* o = out.data<float>() + b * m_rows * N;
            for (int64_t i = 0; i < m_rows * N; ++i) {
                float v = res[static_cast<std::size_t>(i)];
                if (!cvec.empty()) v += beta * cvec[cvec.size() == 1 ? 0 : static_cast<std::size_t>(i % N)];
                o[i] = v;
            }
        }
        if (!c_name.empty()) {
            const sim::Tensor& C = values.at(c_name);
            const float beta_c = beta;
            for (int64_t i = 0; i < out.numel(); ++i) out.data<float>()[i] += beta_c * C.data<float>()[C.numel() == out.numel() ? i : i % C.numel()];
        }
        round_to_precision(out, prec);
        values[y] = out;
        run_followers(followers, values);
    };
    return true;
}

// A scalar constant: a Mul's scale.
bool is_scalar_constant(const GpuLowering& L, const std::string& value) {
    return L.graph.is_constant(value) && L.graph.value(value).constant->numel() == 1;
}

// A value a fused group may keep to itself: one reader, and not a graph output (which a kernel
// must write).
bool only_read_inside(const GpuLowering& L, const std::string& value) {
    return L.readers.of(value).size() == 1 &&
           std::find(L.graph.outputs.begin(), L.graph.outputs.end(), value) == L.graph.outputs.end();
}

}  // namespace

std::optional<AttentionMatch> match_attention(const GpuLowering& L, const Node& n, std::string& why) {
    const Precision p = L.spec.precision;
    if (n.op_type != "MatMul") return why = "not a MatMul", std::nullopt;
    if (p == Precision::Int8 || p == Precision::Fp8) return why = "PyTorch's attention kernels run in fp16, bf16 or fp32", std::nullopt;
    if (L.graph.is_constant(n.inputs[1])) return why = "not an attention score", std::nullopt;
    AttentionMatch m;
    m.q = n.inputs[0];
    m.k = n.inputs[1];
    // Q and K each scaled by a scalar before the product, read by nothing else (exporters
    // decompose scaled_dot_product_attention so: both by sqrt(scale)).
    for (std::string* operand : {&m.q, &m.k}) {
        const Node* pre = L.producer(*operand);
        if (!pre || pre->op_type != "Mul" || !only_read_inside(L, *operand)) continue;
        const bool scale_second = is_scalar_constant(L, pre->inputs[1]);
        if (!scale_second && !is_scalar_constant(L, pre->inputs[0])) continue;
        const std::string& x = scale_second ? pre->inputs[0] : pre->inputs[1];
        if (L.graph.is_constant(x)) continue;
        m.prescales.push_back(pre);
        *operand = x;
    }
    auto chain = frontend::follower_chain(L.graph, L.readers, L.index_of(n), 4).followers;
    m.chain = {&n};
    std::size_t at = 0;
    auto next_is = [&](const char* op) { return at < chain.size() && L.graph.nodes[chain[at]].op_type == op; };
    const auto& scores = L.graph.value(n.outputs[0]);
    if (next_is("Mul") || next_is("Div")) {
        const Node& s = L.graph.nodes[chain[at]];
        const std::string& other = s.inputs[0] == m.chain.back()->outputs[0] ? s.inputs[1] : s.inputs[0];
        if (!L.graph.is_constant(other)) return why = "not an attention pattern", std::nullopt;
        m.chain.push_back(&s);
        ++at;
    }
    if (next_is("Add")) {  // an additive mask, broadcast over the scores' batch and heads
        const Node& add = L.graph.nodes[chain[at]];
        const std::string& other = add.inputs[0] == m.chain.back()->outputs[0] ? add.inputs[1] : add.inputs[0];
        const auto& mv = L.graph.value(other);
        if (mv.shape.size() > scores.shape.size() || mv.shape.empty() ||
            (mv.shape.back() != 1 && mv.shape.back() != scores.shape.back()) ||
            L.graph.value(add.outputs[0]).shape != scores.shape)
            return why = "not an attention mask", std::nullopt;
        m.mask = other;
        m.chain.push_back(&add);
        ++at;
    }
    if (!next_is("Softmax")) return why = "not an attention pattern", std::nullopt;
    const Node& sm = L.graph.nodes[chain[at]];
    const auto& sv = L.graph.value(sm.outputs[0]);
    const int64_t axis = sm.attr_int("axis", -1);
    if (axis != -1 && axis != static_cast<int64_t>(sv.shape.size()) - 1) return why = "softmax not over the keys", std::nullopt;
    m.chain.push_back(&sm);
    m.softmax = &sm;
    // PyTorch's exported scaled_dot_product_attention zeroes the rows a mask empties:
    // Where(IsNaN(P), 0, P). Its kernels do that in registers.
    std::string probs = sm.outputs[0];
    const auto& sm_readers = L.readers.of(probs);
    if (sm_readers.size() == 2) {
        const Node* isnan = nullptr;
        const Node* where = nullptr;
        for (std::size_t r : sm_readers) {
            const Node& x = L.graph.nodes[r];
            if (x.op_type == "IsNaN") isnan = &x;
            if (x.op_type == "Where") where = &x;
        }
        if (!isnan || !where || L.readers.of(isnan->outputs[0]).size() != 1 || where->inputs.size() != 3 ||
            where->inputs[0] != isnan->outputs[0] || where->inputs[2] != probs || !is_scalar_constant(L, where->inputs[1]) ||
            L.graph.value(where->inputs[1]).constant->get_as_double(0) != 0.0)
            return why = "not an attention pattern", std::nullopt;
        m.chain.push_back(isnan);
        m.chain.push_back(where);
        probs = where->outputs[0];
    }
    const auto& readers = L.readers.of(probs);
    if (!only_read_inside(L, probs) || L.graph.nodes[readers[0]].op_type != "MatMul" || L.graph.nodes[readers[0]].inputs[0] != probs)
        return why = "not an attention pattern", std::nullopt;
    const Node& pv = L.graph.nodes[readers[0]];
    m.chain.push_back(&pv);
    m.v = pv.inputs[1];
    m.out = pv.outputs[0];
    // Q, K and V as the heads' permuted views of a projection: Transposes (and reshapes between
    // them) that nothing else reads. PyTorch permutes them as strided views and its attention
    // kernels read them in place, so no copy runs; the exporter writes each permute as a Transpose.
    for (std::string* operand : {&m.q, &m.k, &m.v}) {
        std::vector<const Node*> path;  // from the operand back towards the projection
        std::string v = *operand;
        for (const Node* pre = L.producer(v); pre && (pre->op_type == "Transpose" || is_view_op(*pre)) &&
                                             only_read_inside(L, v) && !L.graph.is_constant(pre->inputs[0]);
             pre = L.producer(v)) {
            path.push_back(pre);
            v = pre->inputs[0];
        }
        while (!path.empty() && path.back()->op_type != "Transpose") {  // views before the first permute stay
            v = path.back()->outputs[0];
            path.pop_back();
        }
        if (path.empty()) continue;
        m.layout.insert(m.layout.end(), path.rbegin(), path.rend());
        *operand = v;
    }
    return m;
}

void fold_attention_operands(GpuLowering& L) {
    std::string why;
    for (const Node& n : L.graph.nodes)
        if (n.op_type == "MatMul")
            if (auto m = match_attention(L, n, why)) {
                for (const Node* x : m->layout) L.fused_nodes.insert(x->name);
                for (const Node* x : m->prescales) L.fused_nodes.insert(x->name);
            }
}

namespace {

// [Q x c, K x c] -> MatMul(Q, K^T) -> [Mul/Div by a constant] -> [Add a mask] -> Softmax(last
// axis) -> MatMul(., V), all in one attention kernel (FlashAttention-2/3 in fp16/bf16, PyTorch's
// memory-efficient kernel in fp32): per CTA a block of queries, looping over key blocks: two GEMMs
// (tensor cores, or SIMT in fp32) and an online softmax per block, the scores never leave the SM;
// a mask adds its (broadcast) block per key block.
bool lower_attention(GpuLowering& L, const Node& n, std::string& why) {
    const std::optional<AttentionMatch> match = match_attention(L, n, why);
    if (!match) return false;
    const Precision p = L.spec.precision;
    // The kernel serves the chain (its QK MatMul first), the folded scales and permutes; its
    // numbers run the permutes, the scales, then the chain, each node as the reference does.
    std::vector<const Node*> nodes = match->chain;
    nodes.insert(nodes.end(), match->prescales.begin(), match->prescales.end());
    nodes.insert(nodes.end(), match->layout.begin(), match->layout.end());
    const auto& sv = L.graph.value(match->softmax->outputs[0]);
    // The geometry from the product's operands (match->q, k, v are the buffers read, which may
    // be laid out before the heads' permute).
    const auto& qv = L.graph.value(n.inputs[0]);
    const auto& vv = L.graph.value(match->chain.back()->inputs[1]);
    const int64_t S_q = qv.shape[qv.shape.size() - 2], D = qv.shape.back();
    const int64_t S_k = sv.shape.back(), Dv = vv.shape.back();
    const int64_t heads = sim::shape_numel(sim::Shape(qv.shape.begin(), qv.shape.end() - 2));
    const int64_t eb = precision_bytes(p);
    std::vector<std::string> names;
    for (const Node* x : nodes) names.push_back(x->name);
    // fp16/bf16: FlashAttention-2/3 on the tensor cores, 128 x 128 blocks. fp32 (and tf32, which
    // SDPA runs as fp32): PyTorch's memory-efficient kernel (xFormers' CUTLASS
    // fmha_cutlassF_f32_aligned_64x64_rf_sm80), SIMT FMAs over 64 x 64 blocks, 4 warps.
    const bool simt = p == Precision::Fp32 || p == Precision::Tf32;
    const bool hopper = L.spec.arch == Arch::Hopper && !simt;
    Kernel& k = L.add_kernel(simt ? "fmha_cutlassF_f32_aligned_64x64_rf_sm80"
                                  : hopper ? "flash_attention_fwd_sm90" : "flash_attention_fwd_sm80",
                             names);
    const int64_t br = simt ? 64 : 128, bc = simt ? 64 : 128;
    k.grid = heads * ceil_div(S_q, br);
    k.threads = hopper ? 384 : 128;
    k.registers = simt ? 128 : 168;
    k.smem_bytes = (br * D + 2 * 2 * bc * std::max(D, Dv)) * eb;
    k.tile_m = br, k.tile_n = bc, k.tile_k = D;
    k.dtype = simt ? Precision::Fp32 : p;
    k.persistent = false;
    k.flops = 2.0 * static_cast<double>(heads) * static_cast<double>(S_q) * static_cast<double>(S_k) * static_cast<double>(D + Dv);
    k.bytes_in_flight = 2 * 2 * bc * std::max(D, Dv) * eb;
    k.cta.iterations = ceil_div(S_k, bc);
    k.cta.stages = 2;
    const Op load = hopper ? Op::TmaLoad : Op::CpAsync;
    k.cta.prologue = {{load, 1, br * D * eb, 0, 0, 0, L.buffer(match->q)}};
    if (simt) {
        k.cta.body = {{load, 1, bc * D * eb, 0, 0, 0, L.buffer(match->k)},
                      {load, 1, bc * Dv * eb, 0, 0, 0, L.buffer(match->v)},
                      {Op::Ffma, br * bc * D, 0, 0, 0, 0, -1},   // S = Q K^T
                      {Op::Sfu, br * bc, 0, 0, 0, 0, -1},        // exp
                      {Op::Ffma, 4 * br * bc, 0, 0, 0, 0, -1},   // max, scale, sum, rescale
                      {Op::Ffma, br * Dv * bc, 0, 0, 0, 0, -1},  // O += P V
                      {Op::BarSync, 2, 0, 0, 0, 0, -1}};
    } else {
        const Op mma = hopper ? Op::Wgmma : Op::MmaSync;
        const int64_t mk = mma_k(p), mm = hopper ? 64 : 16, mn = hopper ? bc : 8;
        k.cta.body = {{load, 1, bc * D * eb, 0, 0, 0, L.buffer(match->k)},
                      {load, 1, bc * Dv * eb, 0, 0, 0, L.buffer(match->v)},
                      {mma, br * bc * D / (mm * mn * mk), 0, mm, mn, mk, -1},                 // S = Q K^T
                      {Op::Sfu, br * bc, 0, 0, 0, 0, -1},                                   // exp
                      {Op::Ffma, 4 * br * bc, 0, 0, 0, 0, -1},                              // max, scale, sum, rescale
                      {mma, br * Dv * bc / (mm * (hopper ? Dv : 8) * mk), 0, mm, hopper ? Dv : 8, mk, -1},  // O += P V
                      {Op::Mbarrier, 1, 0, 0, 0, 0, -1}};
    }
    k.cta.epilogue = {{Op::StGlobal, 1, br * Dv * eb, 0, 0, 0, L.buffer(match->out)}};
    const uint64_t q_bytes = L.bytes_of(match->q), kb = L.bytes_of(match->k), vb = L.bytes_of(match->v);
    const uint64_t blocks = static_cast<uint64_t>(ceil_div(S_q, br));
    k.args = {{L.buffer(match->q), q_bytes, q_bytes, false},
              {L.buffer(match->k), kb, kb * blocks, false},
              {L.buffer(match->v), vb, vb * blocks, false},
              {L.buffer(match->out), L.bytes_of(match->out), L.bytes_of(match->out), true}};
    if (!match->mask.empty()) {
        // Per key block a CTA reads the mask's rows of its queries (one row when the mask is
        // broadcast over queries) and bc of its columns (one when broadcast over keys).
        const auto& mv = L.graph.value(match->mask);
        const int64_t rows = mv.shape.size() >= 2 && mv.shape[mv.shape.size() - 2] > 1 ? br : 1;
        const int64_t cols = mv.shape.back() > 1 ? bc : 1;
        const int64_t per_block = rows * cols * eb;
        k.cta.body.insert(k.cta.body.begin() + 2, {load, 1, per_block, 0, 0, 0, L.buffer(match->mask)});
        const uint64_t mb = L.bytes_of(match->mask);
        k.args.insert(k.args.begin() + 3, {L.buffer(match->mask), mb,
                                            std::max<uint64_t>(mb, static_cast<uint64_t>(per_block * k.grid * k.cta.iterations)), false});
    }
    for (const Node* x : nodes)
        if (x != &n) L.fused_nodes.insert(x->name);
    const std::string what = simt ? "memory-efficient attention" : "flash attention";
    L.place(n, sim::Placement::Native, "sm", what + ": " + std::to_string(nodes.size()) + " nodes in one kernel");
    for (const Node* x : nodes)
        if (x != &n) L.place(*x, sim::Placement::Lowered, "sm", "fused into " + n.name + "'s " + what + " kernel");
    if (!L.numerics) return true;
    std::vector<const Node*> order = match->layout;
    order.insert(order.end(), match->prescales.begin(), match->prescales.end());
    order.insert(order.end(), match->chain.begin(), match->chain.end());
    bind_group(L, k.id, order);
    return true;
}

}  // namespace

bool lower_gemm_node(GpuLowering& L, const Node& n, std::string& why) {
    for (std::size_t i = 0; i < 2 && i < n.inputs.size(); ++i)
        if (!n.inputs[i].empty() && !sim::is_float(L.graph.value(n.inputs[i]).dtype))
            return why = "integer operands", false;
    if (n.op_type == "Conv") return lower_conv(L, n, why);
    if (n.op_type == "MatMul" && !L.graph.is_constant(n.inputs[1])) {
        std::string attention_why;
        if (lower_attention(L, n, attention_why)) return true;
    }
    if (n.op_type == "Gemm" || n.op_type == "MatMul") return lower_dense(L, n, why);
    return false;
}

}  // namespace xpusim::lower::gpu
