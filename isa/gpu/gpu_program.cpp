#include "isa/gpu/gpu_program.h"

#include <sstream>

#include "sim/config/fields.h"
#include "sim/error.h"
#include "sim/runtime/asm_text.h"

namespace xpusim::isa::gpu {

namespace {

const sim::ProgramReaderRegistration s_reader{
    "gpu", [](const std::string& text) { return std::make_unique<GpuProgram>(GpuProgram::from_asm(text)); }};

const char* kOps[] = {"ld.global", "st.global", "cp.async", "tma.load", "tma.store", "red.global",
                      "ldmatrix",  "ld.shared", "st.shared", "mma.sync", "wgmma",    "ffma",
                      "alu",       "sfu",       "cvt",       "shfl",     "bar.sync", "mbarrier"};
const char* kPrecisions[] = {"fp32", "tf32", "fp16", "bf16", "int8", "fp8"};

template <std::size_t N>
int index_of(const char* const (&names)[N], const std::string& s, const std::string& what) {
    for (std::size_t i = 0; i < N; ++i)
        if (s == names[i]) return static_cast<int>(i);
    throw sim::ModelError("gpu asm: unknown " + what + " '" + s + "'");
}

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + v[i];
    return s;
}

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string tok;
    while (std::getline(ss, tok, ','))
        if (!tok.empty()) out.push_back(tok);
    return out;
}

void write_instr(std::ostream& s, const char* block, const Instr& i) {
    s << "  " << block << ' ' << kOps[static_cast<int>(i.op)] << " count=" << i.count;
    if (i.bytes) s << " bytes=" << i.bytes;
    if (i.m) s << " m=" << i.m << " n=" << i.n << " k=" << i.k;
    if (i.buffer >= 0) s << " buffer=" << i.buffer;
    s << '\n';
}

}  // namespace

const char* op_name(Op op) {
    return kOps[static_cast<int>(op)];
}

bool is_global(Op op) {
    return op == Op::LdGlobal || op == Op::StGlobal || op == Op::CpAsync || op == Op::TmaLoad ||
           op == Op::TmaStore || op == Op::RedGlobal;
}

bool is_global_write(Op op) {
    return op == Op::StGlobal || op == Op::TmaStore || op == Op::RedGlobal;
}

std::string GpuProgram::to_asm() const {
    using sim::asm_text::quote;
    std::ostringstream s;
    s << "; gpu program: " << buffers.size() << " buffers, " << kernels.size() << " kernels\n";
    for (const auto& line : sim::config::spec_lines(spec)) s << ".spec " << line << '\n';
    for (const auto& n : graph_inputs) s << ".input name=" << quote(n) << '\n';
    for (const auto& n : graph_outputs) s << ".output name=" << quote(n) << '\n';
    for (const auto& n : weights) s << ".weight name=" << quote(n) << '\n';
    for (const auto& b : buffers)
        s << ".buffer id=" << b.id << " name=" << quote(b.name) << " shape=" << sim::shape_str(b.shape)
          << " dtype=" << sim::dtype_name(b.dtype) << " bytes=" << b.bytes << " addr=" << b.address
          << " kind=" << b.kind << " alias=" << b.alias << '\n';
    for (const auto& h : host_calls)
        s << ".host node=" << quote(h.node) << " op=" << h.op_type << " flops=" << h.cost.flops
          << " bytes=" << h.cost.bytes << '\n';
    for (const auto& k : kernels) {
        s << ".kernel id=" << k.id << " name=" << k.name << " nodes=" << quote(join(k.nodes))
          << " grid=" << k.grid << " cluster=" << k.cluster << " threads=" << k.threads
          << " regs=" << k.registers << " smem=" << k.smem_bytes << " tile=" << k.tile_m << 'x'
          << k.tile_n << 'x' << k.tile_k << " split_k=" << k.split_k
          << " dtype=" << precision_name(k.dtype) << " persistent=" << k.persistent
          << " in_flight=" << k.bytes_in_flight << " working_set=" << k.working_set
          << " flops=" << k.flops << " host=" << k.host_call << " iterations=" << k.cta.iterations
          << " stages=" << k.cta.stages << " specialized=" << k.cta.warp_specialized << '\n';
        for (const auto& a : k.args) {
            s << "  arg buffer=" << a.buffer << " unique=" << a.unique_bytes << " total=" << a.total_bytes
              << " write=" << a.write;
            if (a.far_bytes >= 0) s << " far=" << a.far_bytes;
            s << '\n';
        }
        for (const auto& i : k.cta.prologue) write_instr(s, "prologue", i);
        for (const auto& i : k.cta.body) write_instr(s, "body", i);
        for (const auto& i : k.cta.epilogue) write_instr(s, "epilogue", i);
    }
    return s.str();
}

GpuProgram GpuProgram::from_asm(const std::string& text) {
    GpuProgram p;
    const sim::asm_text::ProgramText t = sim::asm_text::split_program(text, "gpu");
    p.spec = sim::asm_text::spec_of<GpuSpec>(t, "gpu");
    int line_no = 0;
    auto where = [&] { return "gpu asm line " + std::to_string(line_no); };
    for (const auto& [number, line] : t.lines) {
        line_no = number;
        try {
            const std::size_t start = line.find_first_not_of(' ');
            const std::size_t sp = line.find(' ', start);
            const std::string head = line.substr(start, sp - start);
            if (head == "prologue" || head == "body" || head == "epilogue") {
                if (p.kernels.empty()) throw sim::ModelError("an instruction before any .kernel");
                const std::size_t op_end = line.find(' ', sp + 1);
                Instr i;
                i.op = static_cast<Op>(index_of(kOps, line.substr(sp + 1, op_end - sp - 1), "instruction"));
                auto f = sim::asm_text::fields(line, op_end == std::string::npos ? line.size() : op_end,
                                               "gpu asm", line_no);
                i.count = std::stoll(f.at("count"));
                if (f.count("bytes")) i.bytes = std::stoll(f.at("bytes"));
                if (f.count("m")) i.m = std::stoll(f.at("m")), i.n = std::stoll(f.at("n")), i.k = std::stoll(f.at("k"));
                if (f.count("buffer")) i.buffer = std::stoi(f.at("buffer"));
                CtaProgram& c = p.kernels.back().cta;
                (head == "prologue" ? c.prologue : head == "body" ? c.body : c.epilogue).push_back(i);
                continue;
            }
            auto f = sim::asm_text::fields(line, sp == std::string::npos ? line.size() : sp, "gpu asm", line_no);
            if (head == ".input") {
                p.graph_inputs.push_back(f.at("name"));
            } else if (head == ".output") {
                p.graph_outputs.push_back(f.at("name"));
            } else if (head == ".weight") {
                p.weights.push_back(f.at("name"));
            } else if (head == ".buffer") {
                GpuBuffer b;
                b.id = std::stoi(f.at("id"));
                b.name = f.at("name");
                b.shape = sim::asm_text::parse_shape(f.at("shape"));
                b.dtype = sim::dtype_from_name(f.at("dtype"));
                b.bytes = std::stoull(f.at("bytes"));
                b.address = std::stoull(f.at("addr"));
                b.kind = f.at("kind");
                b.alias = std::stoi(f.at("alias"));
                if (b.id != static_cast<int>(p.buffers.size())) throw sim::ModelError("buffer ids must count up from 0");
                p.buffers.push_back(b);
            } else if (head == ".host") {
                sim::HostCall h;
                h.node = f.at("node");
                h.op_type = f.at("op");
                h.cost.flops = std::stod(f.at("flops"));
                h.cost.bytes = std::stod(f.at("bytes"));
                p.host_calls.push_back(h);
            } else if (head == ".kernel") {
                Kernel k;
                k.id = std::stoi(f.at("id"));
                k.name = f.at("name");
                k.nodes = split(f.at("nodes"));
                k.grid = std::stoll(f.at("grid"));
                k.cluster = std::stoll(f.at("cluster"));
                k.threads = std::stoll(f.at("threads"));
                k.registers = std::stoll(f.at("regs"));
                k.smem_bytes = std::stoll(f.at("smem"));
                const sim::Shape tile = sim::asm_text::parse_shape(f.at("tile"));
                if (tile.size() != 3) throw sim::ModelError("tile must be MxNxK");
                k.tile_m = tile[0], k.tile_n = tile[1], k.tile_k = tile[2];
                k.split_k = std::stoll(f.at("split_k"));
                k.dtype = static_cast<Precision>(index_of(kPrecisions, f.at("dtype"), "dtype"));
                k.persistent = f.at("persistent") == "1";
                k.bytes_in_flight = std::stoll(f.at("in_flight"));
                k.working_set = std::stoull(f.at("working_set"));
                k.flops = std::stod(f.at("flops"));
                k.host_call = std::stoi(f.at("host"));
                k.cta.iterations = std::stoll(f.at("iterations"));
                k.cta.stages = std::stoll(f.at("stages"));
                k.cta.warp_specialized = f.at("specialized") == "1";
                if (k.id != static_cast<int>(p.kernels.size())) throw sim::ModelError("kernel ids must count up from 0");
                p.kernels.push_back(k);
            } else if (head == "arg") {
                if (p.kernels.empty()) throw sim::ModelError("an arg before any .kernel");
                KernelArg a;
                a.buffer = std::stoi(f.at("buffer"));
                a.unique_bytes = std::stoull(f.at("unique"));
                a.total_bytes = std::stoull(f.at("total"));
                a.write = f.at("write") == "1";
                if (f.count("far")) a.far_bytes = std::stoll(f.at("far"));
                p.kernels.back().args.push_back(a);
            } else {
                throw sim::ModelError("unknown directive '" + head + "'");
            }
        } catch (const sim::ModelError& e) {
            const std::string m = e.what();
            throw sim::ModelError(m.rfind("gpu asm", 0) == 0 ? m : where() + ": " + m);
        } catch (const std::out_of_range&) {
            throw sim::ModelError(where() + ": a required field is missing");
        } catch (const std::invalid_argument&) {
            throw sim::ModelError(where() + ": a number does not parse");
        }
    }
    // Every reference must land inside the program.
    const int nb = static_cast<int>(p.buffers.size());
    for (const auto& b : p.buffers)
        if (b.alias >= nb) throw sim::ModelError("gpu asm: buffer " + std::to_string(b.id) + " aliases no buffer");
    for (const auto& k : p.kernels) {
        if (k.host_call >= static_cast<int>(p.host_calls.size()))
            throw sim::ModelError("gpu asm: kernel " + std::to_string(k.id) + " names a missing host call");
        for (const auto& a : k.args)
            if (a.buffer < 0 || a.buffer >= nb)
                throw sim::ModelError("gpu asm: kernel " + std::to_string(k.id) + " names buffer " +
                                      std::to_string(a.buffer) + " of " + std::to_string(nb));
        if (k.grid < 1 || k.threads < 1 || k.threads > 1024)
            throw sim::ModelError("gpu asm: kernel " + std::to_string(k.id) + " has no CTAs or a bad CTA size");
    }
    return p;
}

}  // namespace xpusim::isa::gpu
