// NPU timing against cycle counts derived by hand. The test config (test_npu_util.h) runs at
// 1 GHz with DRAM at 1 byte/ns on one channel, no row-miss penalty, no latency and no CSB or
// interrupt overheads, so every transfer takes exactly its byte count in cycles and the DRAM
// serves requests first come, first served. Conv pipeline: atomic_c = 64, atomic_k = 32,
// stripes up to 32, weight load wl = 64 * 32 B / 128 B per cycle = 16 cycles; CACC one
// accumulator row (one pixel's kernel group) per cycle; SDP 16 elements, PDP 8 per cycle.
#include <catch2/catch.hpp>

#include "test_npu_util.h"

using namespace npu_test;

namespace {

// 1x1 / 3x3 convolution descriptor over an input of c x h x w, k kernels, CBUF plan given.
ConvDesc conv(int64_t c, int64_t h, int64_t w, int64_t k, int64_t r, int64_t pad, int32_t src,
              int32_t wt) {
    ConvDesc d;
    d.src = src, d.weight = wt, d.c = c, d.h = h, d.w = w, d.k = k, d.r = r, d.s = r;
    d.pad_t = d.pad_b = d.pad_l = d.pad_r = pad;
    d.p = h + 2 * pad - r + 1, d.q = w + 2 * pad - r + 1;
    d.data_banks = 8, d.weight_banks = 8, d.strip_rows = d.p;
    return d;
}

}  // namespace

TEST_CASE("npu: one atomic-op sequence (a single stripe)", "[npu]") {
    // 1x1 conv, C = 64 (one atomic_c block), K = 32 (one kernel group), 4x4 = 16 output pixels.
    // One stripe of 16 atomic ops; it is as long as the 16-cycle weight load, so
    //   CMAC = 1 block * 1 tap * max(16, wl 16) = 16 cycles, 16*32*64 MACs = 100% utilization.
    // Timeline: weights 32*64 = 2048 B and data 16 px * 64 B = 1024 B are both requested at
    // t = 0; whichever the DRAM serves first, the later ends at 3072. CSC 3072 -> 3088; CACC 16
    // rows -> 3104; SDP 16*32 / 16 = 32 -> 3136; WDMA 16 px * 32 B = 512 B -> 3648.
    NpuProgram p;
    const int32_t x = add_surface(p, "x", "input", {1, 64, 4, 4}, 0x0, 1024);
    const int32_t w = add_surface(p, "w", "const", {32, 64, 1, 1}, 0x10000, 2048);
    const int32_t y = add_surface(p, "y", "act", {1, 32, 4, 4}, 0x20000, 512);
    add_conv(p, conv(64, 4, 4, 32, 1, 0, x, w), y, "conv");
    add_node(p, "conv", "Conv", "conv");
    const auto r = run(p, test_config());
    CHECK(*r.cycles == 3648);
    CHECK(op(r, "conv").compute_cycles == 16);
    CHECK(op(r, "conv").macs == 16 * 32 * 64);
    CHECK(op(r, "conv").extra["mac_utilization"].get<double>() == Approx(1.0));

    // 8 pixels: the stripe (8 atomic ops) is shorter than the weight load, which it cannot hide:
    // 16 cycles for 8 ops, 50% utilization. Loads 2048 + 512 -> 2560; CSC 2576; CACC 8 -> 2584;
    // SDP 256 / 16 -> 2600; WDMA 8 * 32 = 256 B -> 2856.
    NpuProgram q;
    const int32_t x2 = add_surface(q, "x", "input", {1, 64, 2, 4}, 0x0, 512);
    const int32_t w2 = add_surface(q, "w", "const", {32, 64, 1, 1}, 0x10000, 2048);
    const int32_t y2 = add_surface(q, "y", "act", {1, 32, 2, 4}, 0x20000, 256);
    add_conv(q, conv(64, 2, 4, 32, 1, 0, x2, w2), y2, "conv");
    add_node(q, "conv", "Conv", "conv");
    const auto r2 = run(q, test_config());
    CHECK(*r2.cycles == 2856);
    CHECK(op(r2, "conv").compute_cycles == 16);
    CHECK(op(r2, "conv").extra["mac_utilization"].get<double>() == Approx(0.5));
}

TEST_CASE("npu: a conv that fits in CBUF", "[npu]") {
    // 3x3 pad 1 conv, 64 -> 64 channels on 8x8: input 8 rows * 8 px * 64 B = 4096 B, weights two
    // kernel groups of 32 * 9 * 64 = 18432 B, all resident; loaded once, nothing re-fetched.
    // CMAC per kernel group: 1 block * 9 taps * (64 px = 2 stripes of 32) = 576 cycles.
    // DRAM (first come, first served): data 4096 B and the first weight request at t = 0, the
    // other weight requests every 64 cycles behind them, so kernel group 0 is in CBUF at
    // 4096 + 18432 = 22528 and group 1 at 22528 + 18432 = 40960.
    //   group 0: CSC 22528 -> 23104, CACC 64 -> 23168, SDP 64*32/16 = 128 -> 23296; its 2048 B
    //            output queues behind group 1's weights: 40960 -> 43008
    //   group 1: CSC 40960 -> 41536, CACC -> 41600, SDP -> 41728, output 43008 -> 45056
    NpuProgram p;
    const int32_t x = add_surface(p, "x", "input", {1, 64, 8, 8}, 0x0, 4096);
    const int32_t w = add_surface(p, "w", "const", {64, 64, 3, 3}, 0x10000, 36864);
    const int32_t y = add_surface(p, "y", "act", {1, 64, 8, 8}, 0x20000, 4096);
    add_conv(p, conv(64, 8, 8, 64, 3, 1, x, w), y, "conv");
    add_node(p, "conv", "Conv", "conv");
    const auto r = run(p, test_config());
    CHECK(*r.cycles == 45056);
    const auto& c = op(r, "conv");
    CHECK(c.compute_cycles == 1152);
    CHECK(c.bytes_by_level.at("dram_read") == 4096 + 36864);
    CHECK(c.extra["refetch_bytes"].get<uint64_t>() == 0);
}

TEST_CASE("npu: a conv that must be split by output height", "[npu]") {
    // 3x3 pad 1 conv, 64 -> 32 channels on 16x16 with a 32 KiB CBUF of 32 banks of 1 KiB. The
    // 16 KiB input does not fit next to the 18 KiB of weights, so the compiler plan is 8 strips
    // of 2 output rows in 8 data banks (two strips in flight) and the weights resident in 24.
    // Each strip reads its input rows plus the halo: rows [0,3) and [13,16) at the edges, 4 rows
    // for the six inner strips: 3 + 6*4 + 3 = 30 rows of 1024 B = 30720 B instead of 16384, a
    // re-fetch of 14336 B. CMAC per strip: 9 taps * 32 px (one stripe of 32) = 288; 8 strips.
    // Timeline: strips 0 and 1 (3 + 4 KiB) and the weights are requested at once: data and
    // weights are all in by 3072 + 4096 + 18432 = 25600. Strip s computes 288 cycles once its
    // data is in; finishing strip s frees its banks and the DMA requests strip s + 2, which
    // queues behind the output writes already requested (each strip writes 32 px * 32 B = 1024 B
    // after CACC 32 + SDP 64 cycles):
    //   strip  CSC start -> end      next load requested   output written
    //     0    25600 -> 25888        s2 -> 29984            31008
    //     1    25888 -> 26176        s3 -> 35104            36128
    //     2    29984 -> 30272        s4 -> 40224            41248
    //     3    35104 -> 35392        s5 -> 45344            46368
    //     4    40224 -> 40512        s6 -> 50464            51488
    //     5    45344 -> 45632        s7 (3 KiB) -> 54560    55584
    //     6    50464 -> 50752                               56608
    //     7    54560 -> 54848                               57632
    NpuProgram p;
    const int32_t x = add_surface(p, "x", "input", {1, 64, 16, 16}, 0x0, 16384);
    const int32_t w = add_surface(p, "w", "const", {32, 64, 3, 3}, 0x10000, 18432);
    const int32_t y = add_surface(p, "y", "act", {1, 32, 16, 16}, 0x20000, 8192);
    ConvDesc d = conv(64, 16, 16, 32, 3, 1, x, w);
    d.data_banks = 8, d.weight_banks = 24, d.h_strips = 8, d.strip_rows = 2, d.weights_resident = 1;
    add_conv(p, d, y, "conv");
    add_node(p, "conv", "Conv", "conv");
    const auto r = run(p, test_config({"cbuf.kib=32", "cbuf.banks=32"}));
    const auto& c = op(r, "conv");
    CHECK(c.compute_cycles == 2304);
    CHECK(c.bytes_by_level.at("dram_read") == 30720 + 18432);
    CHECK(c.extra["refetch_bytes"].get<uint64_t>() == 14336);
    CHECK(*r.cycles == 57632);
}

TEST_CASE("npu: fused against independent mode", "[npu]") {
    // conv 1x1 64 -> 32 on 8x8, ReLU, 2x2/2 max pooling to 4x4.
    // Common: data 64 px * 64 B = 4096 B + weights 2048 B in by 6144; CMAC 64 cycles (two
    // stripes of 32) -> 6208; CACC 64 rows -> 6272; SDP 64 * 32 / 16 = 128 -> 6400.
    // Fused: PDP pools each SDP item on the fly, 2048 elements / 8 = 256 -> 6656, writes
    //   16 px * 32 B = 512 B -> 7168.
    // Independent: SDP writes the conv output (2048 B) -> 8448; a second SDP pass reads it
    //   (2048 B) -> 10496, applies ReLU (128) -> 10624, writes 2048 B -> 12672; the PDP reads it
    //   -> 14720, pools (256) -> 14976, writes 512 B -> 15488.
    auto build = [](bool fused) {
        NpuProgram p;
        const int32_t x = add_surface(p, "x", "input", {1, 64, 8, 8}, 0x0, 4096);
        const int32_t w = add_surface(p, "w", "const", {32, 64, 1, 1}, 0x10000, 2048);
        const int32_t out = add_surface(p, "out", "act", {1, 32, 4, 4}, 0x20000, 512);
        isa::npu::PdpDesc pd;
        pd.dst = out, pd.n = 1, pd.c = 32, pd.h = 8, pd.w = 8, pd.p = 4, pd.q = 4;
        pd.kh = pd.kw = pd.sh = pd.sw = 2;
        SdpStage relu;
        relu.op = "relu";
        if (fused) {
            const int32_t sdp = add_conv(p, conv(64, 8, 8, 32, 1, 0, x, w), -1, "conv", {relu});
            Descriptor d;
            d.nodes = {"pool"};
            d.source = sdp;
            d.payload = pd;
            p.add_descriptor(d);
        } else {
            const int32_t t1 = add_surface(p, "t1", "act", {1, 32, 8, 8}, 0x30000, 2048);
            const int32_t t2 = add_surface(p, "t2", "act", {1, 32, 8, 8}, 0x40000, 2048);
            add_conv(p, conv(64, 8, 8, 32, 1, 0, x, w), t1, "conv");
            SdpDesc s;
            s.src = t1, s.dst = t2, s.c = 32, s.h = 8, s.w = 8;
            SdpStage cvt;
            cvt.op = "cvt";
            cvt.m = isa::npu::FixedMultiplier::from_double(256.0);
            s.stages = {cvt, relu};
            Descriptor sd;
            sd.nodes = {"relu"};
            sd.payload = s;
            p.add_descriptor(sd);
            pd.src = t2;
            Descriptor d;
            d.nodes = {"pool"};
            d.payload = pd;
            p.add_descriptor(d);
        }
        add_node(p, "conv", "Conv", "conv");
        add_node(p, "pool", "MaxPool", "pdp");
        return p;
    };
    const auto fused = run(build(true), test_config());
    const auto indep = run(build(false), test_config());
    CHECK(*fused.cycles == 7168);
    CHECK(*indep.cycles == 15488);
    CHECK(fused.memory.at("dram").bytes_read == 4096 + 2048);
    CHECK(fused.memory.at("dram").bytes_written == 512);
    CHECK(indep.memory.at("dram").bytes_read == 4096 + 2048 + 2048 + 2048);
    CHECK(indep.memory.at("dram").bytes_written == 2048 + 2048 + 512);
    CHECK(op(fused, "pool").extra["mode"] == "fused");
    CHECK(op(indep, "pool").extra["mode"] == "independent");
}

TEST_CASE("npu: depthwise convolution runs channel by channel", "[npu]") {
    // 3x3 depthwise (groups = C = 32) on 8x8: each channel is its own group with one kernel, so
    // each takes 1 block * 9 taps * 64 px (two stripes of 32) = 576 cycles using one of the
    // 2048 multipliers: 32 * 576 = 18432 cycles for 32 * 64 * 9 MACs, utilization 1/2048.
    NpuProgram p;
    const int32_t x = add_surface(p, "x", "input", {1, 32, 8, 8}, 0x0, 2048);
    const int32_t w = add_surface(p, "w", "const", {32, 1, 3, 3}, 0x10000, 288);
    const int32_t y = add_surface(p, "y", "act", {1, 32, 8, 8}, 0x20000, 2048);
    ConvDesc d = conv(32, 8, 8, 32, 3, 1, x, w);
    d.groups = 32;
    add_conv(p, d, y, "dw");
    add_node(p, "dw", "Conv", "conv");
    const auto r = run(p, test_config());
    const auto& c = op(r, "dw");
    CHECK(c.compute_cycles == 18432);
    CHECK(c.macs == 32 * 64 * 9);
    CHECK(c.extra["mac_utilization"].get<double>() == Approx(1.0 / 2048));
}

TEST_CASE("npu: fp16 runs at half the int8 rate", "[npu]") {
    // The 16-pixel 1x1 conv of the atomic-op test in fp16: a MAC cell pairs two int8
    // multipliers, so an atomic op covers 16 kernels: 2 kernel groups of one 16-op stripe each,
    // wl = 64 * 16 * 2 B / 128 = 16: CMAC = 2 * 16 = 32 cycles (int8: 16).
    // Bytes double: data 16 * 64 * 2 = 2048, weights 2 groups of 16 * 64 * 2 = 2048; per group
    // 16 px * 16 ch * 2 B = 512 B of output. Data and group 0 are requested at t = 0 (both in by
    // 4096), group 1 after the 32-cycle issue of group 0 (in by 6144).
    //   group 0: CSC 4096 -> 4112, CACC 16 -> 4128, SDP 256 / 16 -> 4144, write after group 1's
    //            weights: 6144 -> 6656
    //   group 1: CSC 6144 -> 6160, CACC -> 6176, SDP -> 6192, write 6656 -> 7168
    NpuProgram p;
    p.spec.quant.precision = isa::npu::Precision::Fp16;
    const int32_t x = add_surface(p, "x", "input", {1, 64, 4, 4}, 0x0, 2048, sim::DType::Float16);
    const int32_t w =
        add_surface(p, "w", "const", {32, 64, 1, 1}, 0x10000, 4096, sim::DType::Float16);
    const int32_t y = add_surface(p, "y", "act", {1, 32, 4, 4}, 0x20000, 1024, sim::DType::Float16);
    ConvDesc d = conv(64, 4, 4, 32, 1, 0, x, w);
    d.precision = isa::npu::Precision::Fp16;
    add_conv(p, d, y, "conv");
    add_node(p, "conv", "Conv", "conv");
    const auto r = run(p, test_config());
    CHECK(op(r, "conv").compute_cycles == 32);
    CHECK(op(r, "conv").extra["mac_utilization"].get<double>() == Approx(1.0));
    CHECK(*r.cycles == 7168);
}

TEST_CASE("npu: image input mode (channel pre- and post-extension)", "[npu]") {
    // First layer, RGB pixels, 7x7 stride 2, 64 kernels, 8x8 output. Pre-extension folds the
    // kernel width into channels: 3 * 7 = 21; stride * C = 6 <= 32 and 21 <= 32 allow
    // post-extension of 2 lines: ceil(21 * 2 / 64) * ceil(7 / 2) = 4 atomic ops per pixel and
    // kernel group (direct mode would need ceil(3/64) * 49 = 49). Stripes never cross a line:
    // one stripe of 8 per output row, padded to the 16-cycle weight load. Per kernel group
    // 4 * 8 rows * 16 = 512 cycles; two groups: 1024 cycles for 64 px * 64 * 147 MACs.
    NpuProgram p;
    const int32_t x = add_surface(p, "x", "input", {1, 3, 21, 21}, 0x0, 21 * 21 * 3);
    const int32_t w = add_surface(p, "w", "const", {64, 3, 7, 7}, 0x10000, 64 * 147);
    const int32_t y = add_surface(p, "y", "act", {1, 64, 8, 8}, 0x20000, 64 * 64);
    ConvDesc d = conv(3, 21, 21, 64, 7, 3, x, w);
    d.stride_h = d.stride_w = 2, d.p = d.q = 8, d.mode = "image", d.post_ext = 2;
    add_conv(p, d, y, "conv1");
    add_node(p, "conv1", "Conv", "conv");
    const auto r = run(p, test_config());
    CHECK(op(r, "conv1").compute_cycles == 1024);
    CHECK(op(r, "conv1").extra["mac_utilization"].get<double>() ==
          Approx(64.0 * 64 * 147 / (1024.0 * 2048)));
}

TEST_CASE("npu: CDP, BDMA and host timing", "[npu]") {
    // x (32 x 4 x 4 int8, 512 B) -> LRN on CDP -> BDMA copy -> Relu on the host -> y (fp32).
    // CDP: read 512 B -> 512; 512 elements / 8 per cycle = 64 -> 576; write 512 B -> 1088.
    // BDMA: read 512 B -> 1600; 512 B / 64 B per cycle = 8 -> 1608; write 512 B -> 2120.
    // Host (schema defaults: 2 us link latency, 12 GB/s, 100 GFLOP/s, 20 GB/s of host memory,
    // 1 us to dispatch an op). Each crossing pays the link latency, then its bytes move through
    // the DRAM at the slower of the link (12 B/ns) and the DRAM (1 B/ns):
    //   in 2000 + 512 / 1 = 2512 ns,
    //   compute 1000 + max(256 flops / 100, 2560 bytes / 20) = 1000 + 128 = 1128 ns,
    //   out (512 fp32 = 2048 B) 2000 + 2048 / 1 = 4048 ns:
    //   7688 ns after the copy ends at 2120 -> 9808.
    NpuProgram p;
    const int32_t x = add_surface(p, "x", "input", {1, 32, 4, 4}, 0x0, 512);
    const int32_t c = add_surface(p, "c", "act", {1, 32, 4, 4}, 0x1000, 512);
    const int32_t d = add_surface(p, "d", "act", {1, 32, 4, 4}, 0x2000, 512);
    const int32_t y =
        add_surface(p, "y", "output", {1, 32, 4, 4}, 0x3000, 2048, sim::DType::Float32);
    isa::npu::CdpDesc lrn;
    lrn.src = x, lrn.dst = c, lrn.c = 32, lrn.h = 4, lrn.w = 4;
    isa::npu::BdmaDesc copy;
    copy.src = c, copy.dst = d, copy.bytes = 512;
    isa::npu::HostDesc host;
    host.call = 0, host.op_type = "Relu", host.inputs = {d}, host.outputs = {y}, host.flops = 256;
    host.bytes = 512 + 2048;
    const std::vector<std::pair<std::string, decltype(Descriptor::payload)>> descs = {
        {"lrn", lrn}, {"copy", copy}, {"relu", host}};
    for (const auto& [name, payload] : descs) {
        Descriptor desc;
        desc.nodes = {name};
        desc.payload = payload;
        p.add_descriptor(desc);
        add_node(p, name, "Op", "unit");
    }
    p.host_calls.resize(1);
    const auto r = run(p, test_config());
    CHECK(op(r, "lrn").end_cycle == 1088);
    CHECK(op(r, "copy").end_cycle == 2120);
    CHECK(*r.cycles == 9808);
}

TEST_CASE("npu: graph inputs and outputs cross the host link through the DRAM", "[npu]") {
    // x (512 B) is the graph's input and c (512 B) its output, with an LRN on CDP between them.
    // Host link (schema defaults): 2 us of latency per transfer, then the bytes through the DRAM
    // at the slower of the link (12 B/ns) and the DRAM (1 B/ns).
    //   x crosses: 2000 + 512 = 2512; CDP reads 512 B -> 3024, 64 cycles -> 3088, writes 512 B
    //   -> 3600; c crosses back: 3600 + 2000 + 512 = 6112.
    NpuProgram p;
    const int32_t x = add_surface(p, "x", "input", {1, 32, 4, 4}, 0x0, 512);
    const int32_t c = add_surface(p, "c", "act", {1, 32, 4, 4}, 0x1000, 512);
    p.inputs.push_back({"x", x});
    p.outputs.push_back({"c", c});
    isa::npu::CdpDesc lrn;
    lrn.src = x, lrn.dst = c, lrn.c = 32, lrn.h = 4, lrn.w = 4;
    Descriptor desc;
    desc.nodes = {"lrn"};
    desc.payload = lrn;
    p.add_descriptor(desc);
    add_node(p, "lrn", "LRN", "cdp");
    const auto r = run(p, test_config());
    CHECK(op(r, "lrn").start_cycle == 3024);  // the core starts on its data
    CHECK(op(r, "lrn").end_cycle == 3600);
    CHECK(*r.cycles == 6112);
    CHECK(r.stats.get("host.link_bytes") == 1024);
}

TEST_CASE("npu: a row slice is a BDMA copy from an offset", "[npu]") {
    // x: [4, 8] int8 codes 0..31 (scale 1), 32 bytes; the Slice of row 2 reads 8 bytes from
    // x + 2 * 8 = x + 16 and holds elements 16..23.
    NpuProgram p;
    const int32_t x = add_surface(p, "x", "input", {4, 8}, 0x0, 32);
    const int32_t y = add_surface(p, "y", "output", {1, 8}, 0x1000, 8);
    p.inputs.push_back({"x", x});
    p.outputs.push_back({"y", y});
    isa::npu::BdmaDesc copy;
    copy.src = x, copy.dst = y, copy.bytes = 8, copy.src_offset = 16, copy.first_element = 16;
    Descriptor desc;
    desc.nodes = {"row"};
    desc.payload = copy;
    p.add_descriptor(desc);
    add_node(p, "row", "Slice", "bdma");
    std::vector<float> codes(32);
    for (int i = 0; i < 32; ++i) codes[static_cast<std::size_t>(i)] = static_cast<float>(i);
    const auto r =
        run(p, test_config(), false, {{"x", sim::Tensor::from_vector<float>({4, 8}, codes)}});
    const sim::Tensor& out = r.outputs.at("y");
    REQUIRE(out.numel() == 8);
    for (int64_t i = 0; i < 8; ++i) CHECK(out.get_as_double(i) == 16 + i);
}
