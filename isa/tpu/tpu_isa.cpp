#include "isa/tpu/tpu_isa.h"

#include <iomanip>
#include <sstream>

#include "sim/config/fields.h"
#include "sim/runtime/asm_text.h"
#include "sim/error.h"

namespace xpusim::isa::tpu {

namespace {

const sim::ProgramReaderRegistration s_reader{
    "tpu", [](const std::string& text) { return std::make_unique<TpuProgram>(TpuProgram::from_asm(text)); }};

const char* kOpcodes[] = {"RHM", "WHM", "RW", "MMC", "ACT", "VEC", "DMA", "HOST", "SYNC"};
const char* kFormats[] = {"int8", "bf16", "fp32"};
const char* kSpaces[] = {"ub", "dram", "cmem", "host"};
const char* kKinds[] = {"mxu", "vector", "host", "view"};
const char* kActs[] = {"none", "relu", "clip"};

template <std::size_t N>
int index_of(const char* const (&names)[N], const std::string& s, const std::string& what) {
    for (std::size_t i = 0; i < N; ++i)
        if (s == names[i]) return static_cast<int>(i);
    throw sim::ModelError("tpu asm: unknown " + what + " '" + s + "'");
}

std::string ints(const std::vector<int>& v) {
    std::string s;
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
    return s.empty() ? "-" : s;
}

std::vector<int> parse_ints(const std::string& s) {
    std::vector<int> out;
    if (s == "-" || s.empty()) return out;
    std::stringstream ss(s);
    std::string tok;
    while (std::getline(ss, tok, ',')) out.push_back(std::stoi(tok));
    return out;
}

// Every value of a key that may repeat on one line (fuse="...").
std::vector<std::string> multi_fields(const std::string& line, const std::string& key) {
    std::vector<std::string> out;
    const std::string pat = " " + key + "=\"";
    for (std::size_t at = line.find(pat); at != std::string::npos; at = line.find(pat, at + 1)) {
        std::string value;
        for (std::size_t i = at + pat.size(); i < line.size() && line[i] != '"'; ++i) {
            if (line[i] == '\\' && i + 1 < line.size()) ++i;
            value += line[i];
        }
        out.push_back(value);
    }
    return out;
}

std::pair<int64_t, int64_t> parse_range(const std::string& s) {
    const auto colon = s.find(':');
    return {std::stoll(s.substr(0, colon)), std::stoll(s.substr(colon + 1))};
}

std::string conv_str(const sim::Conv2dShape& c) {
    std::ostringstream s;
    s << c.batch << 'x' << c.in_channels << 'x' << c.in_h << 'x' << c.in_w << '/' << c.out_channels
      << 'x' << c.kernel_h << 'x' << c.kernel_w << "/s" << c.stride_h << 'x' << c.stride_w << "/p"
      << c.pad_top << 'x' << c.pad_left << 'x' << c.pad_bottom << 'x' << c.pad_right << "/d"
      << c.dilation_h << 'x' << c.dilation_w << "/g" << c.group;
    return s.str();
}

sim::Conv2dShape parse_conv(const std::string& s) {
    sim::Conv2dShape c;
    char x;
    std::istringstream in(s);
    in >> c.batch >> x >> c.in_channels >> x >> c.in_h >> x >> c.in_w >> x >> c.out_channels >> x >>
        c.kernel_h >> x >> c.kernel_w >> x >> x >> c.stride_h >> x >> c.stride_w >> x >> x >>
        c.pad_top >> x >> c.pad_left >> x >> c.pad_bottom >> x >> c.pad_right >> x >> x >>
        c.dilation_h >> x >> c.dilation_w >> x >> x >> c.group;
    if (!in) throw sim::ModelError("tpu asm: bad conv geometry '" + s + "'");
    return c;
}

}  // namespace

const char* opcode_name(Opcode op) {
    return kOpcodes[static_cast<int>(op)];
}
const char* storage_format_name(StorageFormat f) {
    return kFormats[static_cast<int>(f)];
}
const char* memory_space_name(MemorySpace s) {
    return kSpaces[static_cast<int>(s)];
}

uint64_t Buffer::bytes() const {
    const uint64_t n = static_cast<uint64_t>(numel());
    switch (format) {
        case StorageFormat::Int8:
            return n;
        case StorageFormat::BFloat16:
            return 2 * n;
        case StorageFormat::Float32:
            return 4 * n;
    }
    return 4 * n;
}

std::string TpuProgram::to_asm() const {
    std::ostringstream s;
    s << std::setprecision(9);
    s << "; xpusim TPU program: " << buffers.size() << " buffers, " << layers.size() << " layers, "
      << instructions.size() << " instructions\n";
    for (const auto& line : sim::config::spec_lines(spec)) s << ".spec " << line << '\n';
    for (const auto& [name, id] : graph_inputs)
        s << ".input name=" << sim::asm_text::quote(name) << " buffer=" << id << '\n';
    for (const auto& [name, id] : graph_outputs)
        s << ".output name=" << sim::asm_text::quote(name) << " buffer=" << id << '\n';
    for (const Buffer& b : buffers)
        s << ".buffer id=" << b.id << " name=" << sim::asm_text::quote(b.name)
          << " format=" << storage_format_name(b.format) << " scale=" << b.scale
          << " space=" << memory_space_name(b.space) << " addr=" << b.address
          << " shape=" << sim::shape_str(b.shape) << " dtype=" << sim::dtype_name(b.source_dtype)
          << " alias=" << b.alias_of << '\n';
    for (const Layer& l : layers) {
        s << ".layer id=" << l.id << " name=" << sim::asm_text::quote(l.name) << " op=" << l.op_type
          << " kind=" << kKinds[static_cast<int>(l.kind)] << " in=" << ints(l.inputs)
          << " out=" << ints(l.outputs) << " macs=" << l.macs << " elements=" << l.elements
          << " ops=" << l.ops_per_element;
        if (l.kind == Layer::Kind::Host) {
            const sim::HostCost& c = host_calls.at(static_cast<std::size_t>(l.host_call)).cost;
            s << " host=" << l.host_call << " flops=" << c.flops << " bytes=" << c.bytes;
        }
        if (l.kind == Layer::Kind::Mxu) {
            const GemmLayer& g = l.gemm;
            s << " batch=" << g.batch << " groups=" << g.groups << " M=" << g.M << " K=" << g.K
              << " N=" << g.N << " pack=" << g.pack << " wbuf=" << g.weight_buffer
              << " wT=" << g.weight_transposed << " act=" << kActs[static_cast<int>(g.act)]
              << " lo=" << g.clip_lo << " hi=" << g.clip_hi
              << " wsrc=" << memory_space_name(g.weight_source);
            if (g.is_conv) s << " conv=" << conv_str(g.conv);
        }
        for (const auto& n : l.fused)
            s << " fuse=" << sim::asm_text::quote(n.name + "|" + n.op_type + "|" + n.reason);
        s << '\n';
    }
    for (const Instruction& i : instructions) {
        s << i.id << ": " << opcode_name(i.op);
        if (i.layer >= 0) s << " layer=" << i.layer;
        switch (i.op) {
            case Opcode::RW:
                s << " mxu=" << i.mxu << " k=" << i.k0 << ':' << i.k1 << " n=" << i.n0 << ':'
                  << i.n1 << " g=" << i.group << " b=" << i.batch << " bytes=" << i.bytes
                  << " addr=" << i.address << " src=" << memory_space_name(i.source);
                break;
            case Opcode::MMC:
                s << " mxu=" << i.mxu << " m=" << i.m0 << ':' << i.m1 << " k=" << i.k0 << ':'
                  << i.k1 << " n=" << i.n0 << ':' << i.n1 << " g=" << i.group << " b=" << i.batch
                  << " acc=" << i.accumulate;
                break;
            case Opcode::ACT:
                s << " mxu=" << i.mxu << " m=" << i.m0 << ':' << i.m1 << " n=" << i.n0 << ':'
                  << i.n1 << " g=" << i.group << " b=" << i.batch;
                break;
            case Opcode::RHM:
            case Opcode::WHM:
                s << " buffer=" << i.buffer << " bytes=" << i.bytes << " addr=" << i.address
                  << " src=" << memory_space_name(i.source);
                break;
            case Opcode::DMA:
                s << " buffer=" << i.buffer << " bytes=" << i.bytes << " addr=" << i.address
                  << " src=" << memory_space_name(i.source)
                  << " dst=" << memory_space_name(i.destination);
                break;
            default:
                break;
        }
        s << " after=" << ints(i.after) << '\n';
    }
    return s.str();
}

TpuProgram TpuProgram::from_asm(const std::string& text) {
    TpuProgram p;
    // The Spec is complete at the first line that is not `.spec`: validated like a config.
    const sim::asm_text::ProgramText t = sim::asm_text::split_program(text, "tpu");
    p.spec = sim::asm_text::spec_of<TpuSpec>(t, "tpu");
    for (const auto& [line_no, line] : t.lines) {
        try {
            if (line[0] == '.') {
                const std::size_t sp = line.find(' ');
                const std::string directive = line.substr(0, sp);
                auto f = sim::asm_text::fields(line, sp == std::string::npos ? line.size() : sp, "tpu asm", line_no);
                if (directive == ".input") {
                    p.graph_inputs[f.at("name")] = std::stoi(f.at("buffer"));
                } else if (directive == ".output") {
                    p.graph_outputs[f.at("name")] = std::stoi(f.at("buffer"));
                } else if (directive == ".buffer") {
                    Buffer b;
                    b.id = std::stoi(f.at("id"));
                    b.name = f.at("name");
                    b.format =
                        static_cast<StorageFormat>(index_of(kFormats, f.at("format"), "format"));
                    b.scale = std::stof(f.at("scale"));
                    b.space =
                        static_cast<MemorySpace>(index_of(kSpaces, f.at("space"), "memory space"));
                    b.address = std::stoull(f.at("addr"));
                    b.shape = sim::asm_text::parse_shape(f.at("shape"));
                    b.source_dtype = sim::dtype_from_name(f.at("dtype"));
                    b.alias_of = std::stoi(f.at("alias"));
                    p.buffers.push_back(b);
                } else if (directive == ".layer") {
                    Layer l;
                    l.id = std::stoi(f.at("id"));
                    l.name = f.at("name");
                    l.op_type = f.at("op");
                    l.kind = static_cast<Layer::Kind>(index_of(kKinds, f.at("kind"), "layer kind"));
                    l.inputs = parse_ints(f.at("in"));
                    l.outputs = parse_ints(f.at("out"));
                    l.macs = std::stoull(f.at("macs"));
                    l.elements = std::stoll(f.at("elements"));
                    l.ops_per_element = std::stoll(f.at("ops"));
                    if (l.kind == Layer::Kind::Host) {
                        l.host_call = std::stoi(f.at("host"));
                        if (l.host_call != static_cast<int>(p.host_calls.size()))
                            throw sim::ModelError("tpu asm line " + std::to_string(line_no) +
                                                  ": host calls must count up from 0");
                        p.host_calls.push_back(
                            {l.name,
                             l.op_type,
                             {std::stod(f.at("flops")), std::stod(f.at("bytes"))},
                             {}});
                    }
                    if (l.kind == Layer::Kind::Mxu) {
                        GemmLayer& g = l.gemm;
                        g.batch = std::stoll(f.at("batch"));
                        g.groups = std::stoll(f.at("groups"));
                        g.M = std::stoll(f.at("M"));
                        g.K = std::stoll(f.at("K"));
                        g.N = std::stoll(f.at("N"));
                        g.pack = std::stoll(f.at("pack"));
                        g.weight_buffer = std::stoi(f.at("wbuf"));
                        g.weight_transposed = f.at("wT") == "1";
                        g.act =
                            static_cast<ActivationFn>(index_of(kActs, f.at("act"), "activation"));
                        g.clip_lo = std::stof(f.at("lo"));
                        g.clip_hi = std::stof(f.at("hi"));
                        g.weight_source = static_cast<MemorySpace>(
                            index_of(kSpaces, f.at("wsrc"), "memory space"));
                        if (f.count("conv")) {
                            g.is_conv = true;
                            g.conv = parse_conv(f.at("conv"));
                        }
                    }
                    for (const auto& fuse : multi_fields(line, "fuse")) {
                        const auto a = fuse.find('|'), b = fuse.find('|', a + 1);
                        l.fused.push_back(
                            {fuse.substr(0, a), fuse.substr(a + 1, b - a - 1), fuse.substr(b + 1)});
                    }
                    p.layers.push_back(l);
                } else {
                    throw sim::ModelError("unknown directive '" + directive + "'");
                }
                continue;
            }
            Instruction i;
            const std::size_t colon = line.find(':');
            i.id = std::stoi(line.substr(0, colon));
            std::size_t op_start = colon + 2, op_end = line.find(' ', op_start);
            i.op = static_cast<Opcode>(
                index_of(kOpcodes, line.substr(op_start, op_end - op_start), "opcode"));
            auto f =
                sim::asm_text::fields(line, op_end == std::string::npos ? line.size() : op_end, "tpu asm", line_no);
            auto get = [&](const char* k, int64_t def) {
                return f.count(k) ? std::stoll(f.at(k)) : def;
            };
            i.layer = static_cast<int>(get("layer", -1));
            i.mxu = static_cast<int>(get("mxu", 0));
            if (f.count("m")) std::tie(i.m0, i.m1) = parse_range(f.at("m"));
            if (f.count("k")) std::tie(i.k0, i.k1) = parse_range(f.at("k"));
            if (f.count("n")) std::tie(i.n0, i.n1) = parse_range(f.at("n"));
            i.group = get("g", 0);
            i.batch = get("b", 0);
            i.accumulate = get("acc", 0) != 0;
            i.buffer = static_cast<int>(get("buffer", -1));
            i.bytes = static_cast<uint64_t>(get("bytes", 0));
            i.address = static_cast<uint64_t>(get("addr", 0));
            if (f.count("src"))
                i.source = static_cast<MemorySpace>(index_of(kSpaces, f.at("src"), "memory space"));
            if (f.count("dst"))
                i.destination =
                    static_cast<MemorySpace>(index_of(kSpaces, f.at("dst"), "memory space"));
            i.after = parse_ints(f.count("after") ? f.at("after") : "-");
            p.instructions.push_back(i);
        } catch (const sim::Error&) {
            throw;
        } catch (const std::exception& e) {
            throw sim::ModelError("tpu asm line " + std::to_string(line_no) +
                                  ": cannot parse: " + e.what());
        }
    }
    return p;
}

}  // namespace xpusim::isa::tpu
