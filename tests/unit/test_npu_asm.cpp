// The NPU program's text form: printing and reading back gives the same program (same text, same
// simulated cycles and numbers); host calls come back unbound and run again once re-bound from
// the graph; malformed text is an error naming the line.
#include <catch2/catch.hpp>

#include <cstring>

#include "frontends/lower/host_fallback.h"
#include "sim/error.h"
#include "test_npu_util.h"

using namespace npu_test;
using Catch::Contains;

namespace {

// conv (fused SDP: cvt + relu) -> max pool (independent) -> LRN (CDP) -> BDMA copy -> host Relu.
NpuProgram every_unit() {
    NpuProgram p;
    const int32_t x = add_surface(p, "x", "input", {1, 32, 4, 4}, 0x0, 512);
    const int32_t w = add_surface(p, "w", "const", {32, 32, 1, 1}, 0x1000, 1024);
    std::vector<int8_t> wv(1024);
    for (std::size_t i = 0; i < wv.size(); ++i)
        wv[i] = static_cast<int8_t>(static_cast<int>(i * 7 % 11) - 5);
    p.surface(w).data = sim::Tensor::from_vector<int8_t>({32, 32, 1, 1}, wv);
    const int32_t a = add_surface(p, "a \"quoted\" name", "act", {1, 32, 4, 4}, 0x2000, 512,
                                  sim::DType::Int8, 0.25);
    const int32_t b =
        add_surface(p, "b", "act", {1, 32, 2, 2}, 0x3000, 128, sim::DType::Int8, 0.25);
    const int32_t c =
        add_surface(p, "c", "act", {1, 32, 2, 2}, 0x4000, 128, sim::DType::Int8, 0.125);
    const int32_t dcopy =
        add_surface(p, "d", "act", {1, 32, 2, 2}, 0x5000, 128, sim::DType::Int8, 0.125);
    const int32_t y =
        add_surface(p, "y", "output", {1, 32, 2, 2}, 0x6000, 512, sim::DType::Float32);
    ConvDesc cd;
    cd.src = x, cd.weight = w, cd.c = 32, cd.h = 4, cd.w = 4, cd.k = 32, cd.p = 4, cd.q = 4,
    cd.strip_rows = 4;
    SdpStage relu;
    relu.op = "relu";
    add_conv(p, cd, a, "conv", {relu});
    isa::npu::PdpDesc pd;
    pd.src = a, pd.dst = b, pd.c = 32, pd.h = 4, pd.w = 4, pd.p = 2, pd.q = 2,
    pd.kh = pd.kw = pd.sh = pd.sw = 2;
    isa::npu::CdpDesc ld;
    ld.src = b, ld.dst = c, ld.c = 32, ld.h = 2, ld.w = 2, ld.size = 5, ld.alpha = 1e-4,
    ld.beta = 0.75, ld.bias = 2.0;
    isa::npu::BdmaDesc bd;
    bd.src = c, bd.dst = dcopy, bd.bytes = 128;
    isa::npu::HostDesc hd;
    hd.call = 0, hd.op_type = "Relu", hd.inputs = {dcopy}, hd.outputs = {y}, hd.flops = 256;
    for (auto [name, payload] : std::vector<std::pair<std::string, decltype(Descriptor::payload)>>{
             {"pool", pd}, {"lrn", ld}, {"copy", bd}, {"hostrelu", hd}}) {
        Descriptor d;
        d.nodes = {name};
        d.payload = payload;
        p.add_descriptor(d);
    }
    p.host_calls.resize(1);
    p.host_calls[0].node = "hostrelu";
    p.host_calls[0].op_type = "Relu";
    p.inputs = {{"x", x}};
    p.outputs = {{"y", y}};
    for (const char* n : {"conv", "pool", "lrn", "copy", "hostrelu"}) add_node(p, n, "Op", "unit");
    return p;
}

frontend::Graph relu_graph() {
    frontend::Graph g;
    g.opset = 17;
    frontend::Node n;
    n.name = "hostrelu", n.op_type = "Relu", n.inputs = {"d"}, n.outputs = {"y"};
    g.nodes.push_back(n);
    for (const char* v : {"d", "y"}) {
        auto& info = g.values[v];
        info.name = v, info.shape = {1, 32, 2, 2}, info.shape_known = true;
    }
    return g;
}

}  // namespace

TEST_CASE("npu: program assembly round trip", "[npu]") {
    NpuProgram p = every_unit();
    const std::string text = p.to_asm();
    CHECK_THAT(text, Contains("conv id=0"));
    CHECK_THAT(text, Contains("stage op=\"relu\""));
    CHECK_THAT(text, Contains("host call: compute not in the text"));
    auto back = NpuProgram::parse(text);
    CHECK(back->to_asm() == text);
    REQUIRE(back->surfaces.size() == p.surfaces.size());
    CHECK(back->surfaces[1].data.nbytes() == 1024);
    CHECK(std::memcmp(back->surfaces[1].data.raw(), p.surfaces[1].data.raw(), 1024) == 0);
    CHECK(back->surfaces[2].name == "a \"quoted\" name");
    CHECK(back->host_calls.size() == 1);
    CHECK_FALSE(back->host_calls[0].compute);

    // Same timing from the text form; numbers need the host call re-bound.
    const auto cfg = test_config();
    const auto t0 = run(p, cfg, true), t1 = run(*back, cfg, true);
    CHECK(*t0.cycles == *t1.cycles);
    const std::map<std::string, sim::Tensor> in = {
        {"x", sim::Tensor::from_vector<float>({1, 32, 4, 4}, std::vector<float>(512, 1.5f))}};
    CHECK_THROWS_WITH(run(*back, cfg, false, in), Contains("re-bound"));
    lower::bind_host_calls(p.host_calls, relu_graph());
    lower::bind_host_calls(back->host_calls, relu_graph());
    const auto n0 = run(p, cfg, false, in), n1 = run(*back, cfg, false, in);
    const auto& y0 = n0.outputs.at("y");
    const auto& y1 = n1.outputs.at("y");
    REQUIRE(y0.numel() == 128);
    CHECK(std::memcmp(y0.raw(), y1.raw(), y0.nbytes()) == 0);
    CHECK(*n0.cycles == *t0.cycles);
}

TEST_CASE("npu: malformed assembly names the line", "[npu]") {
    CHECK_THROWS_AS(NpuProgram::parse(".spec quant.precision=int9\n"), sim::ModelError);
    CHECK_THROWS_WITH(NpuProgram::parse(".spec quant.precision=int9\n"),
                      Contains("do not make a valid npu Spec"));
    CHECK_THROWS_WITH(NpuProgram::parse(".spec quant.precision=int8\nfrobnicate id=0\n"),
                      Contains("line 2"));
    CHECK_THROWS_WITH(
        NpuProgram::parse(".spec quant.precision=int8\nbdma id=0 source=-1 src=0 dst=1\n"),
        Contains("missing 'bytes'"));
    CHECK_THROWS_WITH(
        NpuProgram::parse("bdma id=0 source=-1 src=0 dst=1 bytes=0 src_offset=0 first_element=0\n"
                          ".spec clock_mhz=1\n"),
        Contains(".spec lines must come first"));
}

TEST_CASE("npu: a program carries the Spec it was lowered for", "[npu]") {
    NpuProgram p = every_unit();
    p.spec =
        sim::config::parse_spec<isa::npu::NpuSpec>(test_config({"cbuf.kib=64", "clock_mhz=750.5"}));
    const auto back = NpuProgram::parse(p.to_asm());
    CHECK(back->spec.cbuf.kib == 64);
    CHECK(back->spec.clock_mhz == 750.5);
    CHECK(back->spec.dram.queue_depth == p.spec.dram.queue_depth);
    CHECK(sim::config::spec_lines(back->spec) == sim::config::spec_lines(p.spec));
}
