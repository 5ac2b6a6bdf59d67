// TPU timing against cycle counts derived by hand. Every test runs a hand-written program on a
// tiny chip (4x4 MXU, 1 GHz so 1 cycle = 1 ns, instructions issued at time 0, memories with no
// latency) built from inline YAML through the real config path, timing-only.
#include <catch2/catch.hpp>

#include "isa/tpu/tpu_isa.h"
#include "sim/config/fields.h"
#include "sim/runtime/target_model.h"

using namespace xpusim;
using namespace xpusim::isa::tpu;

namespace {

// weights_gbps: weight-memory bandwidth in GB/s = bytes per cycle at 1 GHz.
sim::config::Config tiny_chip(double weights_gbps, bool double_buffer = true,
                              const std::vector<std::string>& overrides = {}) {
    const std::string yaml = std::string(R"(
target: tpu
clock_mhz: 1000
mxu: {rows: 4, cols: 4, count: 1, precision: int8, weight_fifo_tiles: 4, accumulator_rows: 64,
      weight_double_buffer: )") +
                             (double_buffer ? "true" : "false") + R"(}
activate: {elements_per_cycle: 4}
vector: {lanes: 4, ops_per_lane: 1, latency_cycles: 2}
ub: {kib: 64, bytes_per_cycle: 4}
sequencer: {issue_cycles: 0}
dram: {bandwidth_gbps: )" + std::to_string(weights_gbps) +
                             R"(, impl: simple, channels: 1, latency_ns: 0, interleave_bytes: 4096}
host: {link_gbps: 1, link_latency_us: 0, gflops: 1}
)";
    return sim::config::ConfigLoader({}).load_string(yaml, "tiny_chip.yaml", overrides);
}

// One GEMM layer: in (M x K) * W (K x N), M rows streamed, on buffers 0 -> 1.
TpuProgram gemm_program(int64_t M, int64_t K, int64_t N) {
    TpuProgram p;
    p.spec.mxu.rows = 4;
    p.spec.mxu.cols = 4;
    p.spec.mxu.count = 1;
    p.spec.mxu.precision = MxuPrecision::Int8;
    p.buffers.push_back({0, "in", {M, K}, StorageFormat::Int8});
    p.buffers.push_back({1, "out", {M, N}, StorageFormat::Int8});
    Layer l;
    l.id = 0;
    l.name = "gemm";
    l.op_type = "MatMul";
    l.kind = Layer::Kind::Mxu;
    l.inputs = {0};
    l.outputs = {1};
    l.gemm.M = M;
    l.gemm.K = K;
    l.gemm.N = N;
    l.macs = static_cast<uint64_t>(M * K * N);
    p.layers.push_back(l);
    return p;
}

Instruction rw(int id, int64_t k0, int64_t n0, int64_t k_rows = 4) {
    Instruction i;
    i.op = Opcode::RW;
    i.id = id;
    i.layer = 0;
    i.k0 = k0;
    i.k1 = k0 + k_rows;
    i.n0 = n0;
    i.n1 = n0 + 4;
    i.bytes = static_cast<uint64_t>(k_rows) * 4;  // k_rows x 4 int8
    i.address = static_cast<uint64_t>(id) * 16;
    return i;
}

Instruction mmc(int id, int64_t m, int64_t k0, int64_t n0, int64_t k_rows = 4) {
    Instruction i;
    i.op = Opcode::MMC;
    i.id = id;
    i.layer = 0;
    i.m0 = 0;
    i.m1 = m;
    i.k0 = k0;
    i.k1 = k0 + k_rows;
    i.n0 = n0;
    i.n1 = n0 + 4;
    i.accumulate = k0 > 0;
    return i;
}

Instruction act(int id, int64_t m, int64_t n0, int after) {
    Instruction i;
    i.op = Opcode::ACT;
    i.id = id;
    i.layer = 0;
    i.m0 = 0;
    i.m1 = m;
    i.n0 = n0;
    i.n1 = n0 + 4;
    i.after = {after};
    return i;
}

// Runs `p` on the chip `c` describes (the program's Spec is set from it, as a lowering would).
sim::Results simulate(const TpuProgram& p, const sim::config::Config& c, bool timing_only = true,
                      const sim::TensorMap& inputs = {}) {
    TpuProgram program = p;
    program.spec = sim::config::parse_spec<TpuSpec>(c);
    sim::RunOptions opts;
    opts.timing_only = timing_only;
    return sim::target_models().get("tpu").create()->simulate(program, inputs, opts);
}

// A 2x2 grid of folds (K = N = 8 on a 4x4 array), M = 10 rows each, in the order the lowering
// emits: item n=0 (k=0, k=4), its ACT, then item n=4.
TpuProgram four_folds() {
    TpuProgram p = gemm_program(10, 8, 8);
    p.instructions = {rw(0, 0, 0),      mmc(1, 10, 0, 0), rw(2, 4, 0),      mmc(3, 10, 4, 0),
                      act(4, 10, 0, 3), rw(5, 0, 4),      mmc(6, 10, 0, 4), rw(7, 4, 4),
                      mmc(8, 10, 4, 4), act(9, 10, 4, 8)};
    return p;
}

}  // namespace

TEST_CASE("tpu: a single fold costs 2R + C + M - 2 after its weights arrive", "[tpu]") {
    // Weight tile: 16 bytes at 1 B/cycle -> in the FIFO at cycle 16.
    // MMC: shift R=4 rows (16 -> 20), stream M=10 rows (20 -> 30), drain R + C - 2 = 6 (-> 36):
    //      16 + (2*4 + 4 + 10 - 2) = 36.
    // ACT: M x C = 40 accumulators at 4 per cycle = 10 cycles (36 -> 46).
    TpuProgram p = gemm_program(10, 4, 4);
    p.instructions = {rw(0, 0, 0), mmc(1, 10, 0, 0), act(2, 10, 0, 1)};
    const sim::Results r = simulate(p, tiny_chip(1.0));
    CHECK(*r.cycles == 46);
    REQUIRE(r.ops.size() == 1);
    CHECK(r.ops[0].compute_cycles == 2 * 4 + 4 + 10 - 2);
    CHECK(r.ops[0].end_cycle == 46);
    // The array waited from 0 to 16 for its weights, which were still in memory (a fetch stall),
    // then 16 to 20 while they shifted in (a shift stall, counted apart as in Jouppi et al.).
    CHECK(r.ops[0].stall_cycles.at("weight_fetch") == 16);
    CHECK(r.ops[0].stall_cycles.at("weight_shift") == 4);
}

TEST_CASE("tpu: double-buffered weights hide the shift-in of later folds", "[tpu]") {
    // Fast weights (16 B/cycle): each tile is in the FIFO one cycle after the previous one.
    // MMC1: tile at 1, shift 1-5, stream 5-15, done 21. The shadow buffer frees at 5, so
    // MMC2: shift 5-9 hides under MMC1's stream; stream 15-25 (right behind), done 31.
    // MMC3: shift 15-19, stream 25-35, done 41.  MMC4: shift 25-29, stream 35-45, done 51.
    //   MXU: 1 + R + 4*M + (R + C - 2) = 1 + 4 + 40 + 6 = 51.
    // ACT1 waits for MMC2 (31): 31-41. ACT2 waits for MMC4 (51): 51-61.
    const sim::Results r = simulate(four_folds(), tiny_chip(16.0));
    CHECK(*r.cycles == 61);
    // MXU occupancy: first fold 2R + C + M - 2 = 20, then +M per fold = 20 + 3*10 = 50.
    CHECK(r.ops[0].compute_cycles == 50);
    // Only the first fold waits for weights (0-5: fetch 1 + shift 4); the rest are hidden.
    CHECK(r.ops[0].stall_cycles.at("weight_fetch") == 1);
    CHECK(r.ops[0].stall_cycles.at("weight_shift") == 4);
}

TEST_CASE("tpu: without double buffering every fold pays 2R + C + M - 2", "[tpu]") {
    // The next shift waits for the previous fold to drain:
    // MMC1 1-21, MMC2 21-41, MMC3 41-61, MMC4 61-81 (each 4 + 10 + 6 = 20 after its shift start).
    // ACT1 after MMC2: 41-51. ACT2 after MMC4: 81-91.
    //   1 + 4 * (2R + C + M - 2) + ACT = 1 + 80 + 10 = 91 (SCALE-Sim's per-fold figure).
    const sim::Results r = simulate(four_folds(), tiny_chip(16.0, /*double_buffer=*/false));
    CHECK(*r.cycles == 91);
    CHECK(r.ops[0].compute_cycles == 80);
    // Folds 2-4 find their tile waiting but must shift it in after the previous fold drained:
    // R = 4 idle cycles each. The first fold waits 5 for its tile (fetch 1 + shift 4).
    CHECK(r.ops[0].stall_cycles.at("weight_shift") == 3 * 4 + 4);
    CHECK(r.ops[0].stall_cycles.at("weight_fetch") == 1);
}

TEST_CASE("tpu: a layer stalls when weight bandwidth runs out", "[tpu]") {
    // Slow weights (1 B/cycle): tiles arrive at 16, 32, 48, 64 (one fetch at a time).
    // MMC1: shift 16-20, stream 20-30, done 36.
    // MMC2: tile at 32, shift 32-36, stream 36-46 (6 idle cycles after MMC1's stream), done 52.
    // MMC3: tile at 48, shift 48-52, stream 52-62, done 68.  MMC4: tile 64, shift 64-68,
    //   stream 68-78, done 84.  ACT1 52-62, ACT2 84-94.
    //   4 tiles x 16 (fetch bound) + R + M + (R + C - 2) + ACT = 64 + 4 + 10 + 6 + 10 = 94.
    const sim::Results r = simulate(four_folds(), tiny_chip(1.0));
    CHECK(*r.cycles == 94);
    // Stalls waiting for weights: MMC1 0-20, then MMC2 30-36, MMC3 46-52 and MMC4 62-68; of
    // each, the time until the tile arrived is a fetch stall (16, then 2 each), the shift
    // after it a shift stall (4 each): fetch 16 + 3 * 2 = 22, shift 4 * 4 = 16.
    CHECK(r.ops[0].stall_cycles.at("weight_fetch") == 22);
    CHECK(r.ops[0].stall_cycles.at("weight_shift") == 16);
    CHECK(r.ops[0].bytes_by_level.at("dram") == 64);
}

TEST_CASE("tpu: a program of several instructions overlaps weight prefetch with host input",
          "[tpu]") {
    // RHM moves 40 input bytes over a 1 GB/s link: 0-40. The RW (16 B at 16 B/cycle) needs no
    // input and lands at 1. MMC waits for RHM: shift 1-5 done long before; stream 40-50, done
    // 56. ACT 56-66. VEC (a Relu over 40 elements: 10 ALU cycles on 4 lanes, UB 80 bytes / 4 =
    // 20 cycles, + 2 latency = 22): 66-88. WHM moves 40 bytes: 88-128.
    TpuProgram p = gemm_program(10, 4, 4);
    p.buffers[0].shape = {10, 4};
    p.buffers.push_back({2, "relu", {10, 4}, StorageFormat::Int8});
    Layer relu;
    relu.id = 1;
    relu.name = "relu";
    relu.op_type = "Relu";
    relu.kind = Layer::Kind::Vector;
    relu.inputs = {1};
    relu.outputs = {2};
    relu.elements = 40;
    relu.ops_per_element = 1;
    p.layers.push_back(relu);
    p.graph_inputs["in"] = 0;
    p.graph_outputs["relu"] = 2;
    Instruction rhm;
    rhm.op = Opcode::RHM;
    rhm.id = 0;
    rhm.buffer = 0;
    rhm.bytes = 40;
    Instruction w = rw(1, 0, 0);
    Instruction m = mmc(2, 10, 0, 0);
    m.after = {0};
    Instruction a = act(3, 10, 0, 2);
    Instruction sync;
    sync.op = Opcode::SYNC;
    sync.id = 4;
    sync.layer = 0;
    sync.after = {3};
    Instruction vec;
    vec.op = Opcode::VEC;
    vec.id = 5;
    vec.layer = 1;
    vec.after = {4};
    Instruction whm;
    whm.op = Opcode::WHM;
    whm.id = 6;
    whm.buffer = 2;
    whm.bytes = 40;
    whm.after = {5};
    p.instructions = {rhm, w, m, a, sync, vec, whm};
    const sim::Results r = simulate(p, tiny_chip(16.0));
    CHECK(*r.cycles == 128);
    CHECK(r.ops[0].start_cycle == 0);  // the layer begins with its weight fetch
    CHECK(r.ops[0].extra.at("mxu_start_cycle") == 40);
    CHECK(r.ops[0].stall_cycles.count("weight_fetch") == 0);
    // The array waited 40 cycles for the host link: non-matrix time (Jouppi et al.'s split), not
    // an input stall, which is a wait for an earlier matrix layer.
    CHECK(r.ops[0].stall_cycles.count("input") == 0);
    CHECK(r.stats.get("mxu.cycles.non_matrix_fraction") == Approx(1.0 - 10.0 / 128 - 0.0));
    CHECK(r.ops[1].start_cycle == 66);
    CHECK(r.ops[1].end_cycle == 88);

    SECTION("the program survives a trip through its text form") {
        const TpuProgram back = TpuProgram::from_asm(p.to_asm());
        CHECK(back.to_asm() == p.to_asm());
        CHECK(*simulate(back, tiny_chip(16.0)).cycles == 128);
    }
}

TEST_CASE("tpu: a spilled activation pays a DMA to DRAM and back", "[tpu]") {
    // Relu (40 elements) writes buffer 1, which lives in DRAM; a second Relu reads it.
    //   VEC0: ALU 40 / 4 lanes = 10, UB (40 + 40 B) / 4 B per cycle = 20 -> 20 + 2 latency: 0-22
    //   DMA to DRAM, 40 B at 1 B/cycle: 22-62;  DMA back: 62-102;  VEC1: 102-124.
    TpuProgram p;
    for (int b = 0; b < 3; ++b)
        p.buffers.push_back({b, "b" + std::to_string(b), {40}, StorageFormat::Int8});
    p.buffers[1].space = MemorySpace::Dram;
    for (int l = 0; l < 2; ++l) {
        Layer v;
        v.id = l;
        v.name = "relu" + std::to_string(l);
        v.op_type = "Relu";
        v.kind = Layer::Kind::Vector;
        v.inputs = {l};
        v.outputs = {l + 1};
        v.elements = 40;
        p.layers.push_back(v);
    }
    Instruction vec0;
    vec0.op = Opcode::VEC;
    vec0.id = 0;
    vec0.layer = 0;
    Instruction out;
    out.op = Opcode::DMA;
    out.id = 1;
    out.buffer = 1;
    out.bytes = 40;
    out.source = MemorySpace::UnifiedBuffer;
    out.destination = MemorySpace::Dram;
    out.after = {0};
    Instruction in = out;
    in.id = 2;
    in.source = MemorySpace::Dram;
    in.destination = MemorySpace::UnifiedBuffer;
    in.after = {1};
    Instruction vec1 = vec0;
    vec1.id = 3;
    vec1.layer = 1;
    vec1.after = {2};
    p.instructions = {vec0, out, in, vec1};
    const sim::Results r = simulate(p, tiny_chip(1.0));
    CHECK(*r.cycles == 124);
    CHECK(r.ops[1].start_cycle == 102);
    CHECK(r.memory.at("dram").bytes_written == 40);
    CHECK(r.memory.at("dram").bytes_read == 40);
}

TEST_CASE("tpu: an error inside a unit keeps its type through the SystemC kernel", "[tpu]") {
    // A host layer whose function raises UnsupportedError, as a host fallback can: the run
    // must end with that error, not a generic SystemC report.
    TpuProgram p;
    p.buffers.push_back({0, "x", {4}, StorageFormat::Float32});
    p.buffers.push_back({1, "y", {4}, StorageFormat::Float32});
    Layer h;
    h.id = 0;
    h.name = "odd_op";
    h.op_type = "OddOp";
    h.kind = Layer::Kind::Host;
    h.inputs = {0};
    h.outputs = {1};
    h.host_call = 0;
    p.layers.push_back(h);
    p.host_calls.push_back(
        {"odd_op", "OddOp", {}, [](const std::vector<sim::Tensor>&) -> std::vector<sim::Tensor> {
             throw sim::UnsupportedError("odd_op: not supported here");
         }});
    p.graph_inputs["x"] = 0;
    Instruction rhm;
    rhm.op = Opcode::RHM;
    rhm.id = 0;
    rhm.buffer = 0;
    rhm.bytes = 16;
    Instruction host;
    host.op = Opcode::HOST;
    host.id = 1;
    host.layer = 0;
    host.after = {0};
    p.instructions = {rhm, host};
    const auto x = sim::Tensor::from_vector<float>({4}, {1, 2, 3, 4});
    REQUIRE_THROWS_AS(simulate(p, tiny_chip(1.0), false, {{"x", x}}), sim::UnsupportedError);
}

TEST_CASE("tpu: a partly filled fold shifts in K rows but drains through all R", "[tpu]") {
    // K = 2 of R = 4 rows. Tile 2 x 4 int8 = 8 B at 1 B/cycle -> in the FIFO at 8.
    // MMC: shift ceil(K / w) rows, stream M = 10, drain R + C - 2 = 6 (the partial sums still
    // pass all four rows): w = 1: 8 + 2 + 10 + 6 = 26, ACT 10 -> 36;
    //                      w = 2: 8 + 1 + 10 + 6 = 25, ACT 10 -> 35.
    TpuProgram p = gemm_program(10, 2, 4);
    p.instructions = {rw(0, 0, 0, 2), mmc(1, 10, 0, 0, 2), act(2, 10, 0, 1)};
    const sim::Results r = simulate(p, tiny_chip(1.0));
    CHECK(*r.cycles == 36);
    CHECK(r.ops[0].compute_cycles == 2 + 10 + 6);
    const sim::Results r2 = simulate(p, tiny_chip(1.0, true, {"mxu.weight_load_rows_per_cycle=2"}));
    CHECK(*r2.cycles == 35);
}

TEST_CASE("tpu: the weight fetcher keeps tiles in flight to cover the memory's latency", "[tpu]") {
    // Weight memory: 1 B/cycle, 100 cycles of latency. The fetcher's engine keeps
    // 2 + ceil(1 B/ns x (100 + 64 B burst / 1 B/ns) / 512 B) = 3 requests in flight and sends one
    // per 16-byte tile, holding its interface 16 cycles each (1 B/cycle). Tiles 1-3 go at 0, 16
    // and 32, their data moves 0-16, 16-32, 32-48 and they land 100 later: 116, 132, 148. Tile 4
    // waits for a free request until tile 1 lands (116): data 116-132, lands 232.
    //   MMC1: tile 116, shift 4 -> 120, stream 120-130, done 136.
    //   MMC2: tile 132, shift 132-136, stream 136-146, done 152; ACT1 152-162.
    //   MMC3: tile 148, shift 148-152, stream 152-162, done 168.
    //   MMC4: tile 232, shift 232-236, stream 236-246, done 252; ACT2 252-262.
    // One tile at a time (each 16 + 100) would land the fourth at 464.
    const sim::Results r = simulate(four_folds(), tiny_chip(1.0, true, {"dram.latency_ns=100"}));
    CHECK(*r.cycles == 262);
}

namespace {

// VEC0 (buffer 0 -> 1, 40 B each) and, independent of it, a DMA of buffer 2 (40 B) to DRAM,
// both at cycle 0.
TpuProgram vector_and_dma(uint64_t dma_buffer_address) {
    TpuProgram p;
    for (int b = 0; b < 3; ++b)
        p.buffers.push_back({b, "b" + std::to_string(b), {40}, StorageFormat::Int8});
    p.buffers[2].address = dma_buffer_address;
    Layer v;
    v.id = 0;
    v.name = "relu";
    v.op_type = "Relu";
    v.kind = Layer::Kind::Vector;
    v.inputs = {0};
    v.outputs = {1};
    v.elements = 40;
    p.layers.push_back(v);
    Instruction vec;
    vec.op = Opcode::VEC;
    vec.id = 0;
    vec.layer = 0;
    Instruction out;
    out.op = Opcode::DMA;
    out.id = 1;
    out.buffer = 2;
    out.bytes = 40;
    out.address = 0x1000;
    out.source = MemorySpace::UnifiedBuffer;
    out.destination = MemorySpace::Dram;
    p.instructions = {vec, out};
    return p;
}

}  // namespace

TEST_CASE("tpu: unified-buffer accesses beyond its ports wait", "[tpu]") {
    // VEC: ALU 10, UB (40 + 40 B) / 4 B per cycle = 20 -> 22 cycles, holding a port 0-20.
    // DMA: a port for 40 / 4 = 10 cycles, then 40 B to DRAM at 1 B/cycle.
    // Two ports: the DMA starts at 0 and ends at 40.
    CHECK(*simulate(vector_and_dma(0), tiny_chip(1.0)).cycles == 40);
    // One port: the DMA waits for the vector unit's access (0-20): 20-60.
    const sim::Results one = simulate(vector_and_dma(0), tiny_chip(1.0, true, {"ub.ports=1"}));
    CHECK(*one.cycles == 60);
    // One port per bank, two banks of 32 KiB: buffer 2 at 32 KiB is in the other bank and
    // does not wait.
    CHECK(*simulate(vector_and_dma(32768), tiny_chip(1.0, true, {"ub.ports=1", "ub.banks=2"}))
               .cycles == 40);
}
