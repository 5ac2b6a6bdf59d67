#include "isa/lpu/lpu_program.h"

#include <sstream>

#include "sim/config/fields.h"
#include "sim/error.h"
#include "sim/runtime/asm_text.h"

namespace xpusim::isa::lpu {

namespace {

const sim::config::SchemaRegistration s_schema{sim::config::spec_schema<LpuSpec>(
    "lpu", "Groq-style tensor streaming processor: SRAM only, statically scheduled, across chips")};
const sim::ProgramReaderRegistration s_reader{
    "lpu", [](const std::string& text) { return std::make_unique<LpuProgram>(LpuProgram::from_asm(text)); }};

const char* const kOps[] = {"Nop",      "Sync",     "Notify",  "Ifetch",     "Config",  "Read",    "Write",
                            "Gather",   "Scatter",  "Vunary",  "Vbinary",    "Convert", "Relu",    "Tanh",
                            "Exp",      "Rsqrt",    "LW",      "IW",         "ABC",     "ACC",     "Shift",
                            "Permute",  "Distribute", "Rotate", "Transpose", "Deskew",  "Send",    "Receive"};
constexpr int kOpCount = static_cast<int>(sizeof(kOps) / sizeof(kOps[0]));

std::string stream_text(const StreamRef& s) {
    if (!s.valid()) return "-";
    return std::string(s.dir == Dir::East ? "E" : "W") + std::to_string(s.id) + "x" + std::to_string(s.width);
}

StreamRef parse_stream(const std::string& t) {
    StreamRef s;
    if (t == "-") return s;
    const std::size_t x = t.find('x');
    if (t.size() < 4 || (t[0] != 'E' && t[0] != 'W') || x == std::string::npos)
        throw sim::ModelError("a stream is E<id>x<width> or W<id>x<width>, not '" + t + "'");
    s.dir = t[0] == 'E' ? Dir::East : Dir::West;
    s.id = std::stoi(t.substr(1, x - 1));
    s.width = std::stoi(t.substr(x + 1));
    return s;
}

}  // namespace

const char* precision_name(Precision p) { return p == Precision::Int8 ? "int8" : "fp16"; }

void LpuSpec::validate(const sim::config::Config& c) const {
    if (mem.slices % 2 != 0)
        throw sim::ConfigError("mem.slices must be even (two hemispheres), got " + std::to_string(mem.slices) +
                               " (config '" + c.source() + "')");
    if (mxm.rows != lanes.lanes() || mxm.cols != lanes.lanes())
        throw sim::ConfigError("mxm.rows and mxm.cols must equal the lanes (" + std::to_string(lanes.lanes()) +
                               "): a plane takes one vector per cycle (config '" + c.source() + "')");
    if (c2c.node_chips - 1 + c2c.global_links > c2c.links)
        throw sim::ConfigError("c2c: " + std::to_string(c2c.node_chips - 1) + " local links (node_chips - 1) + " +
                               std::to_string(c2c.global_links) + " global links exceed the chip's " +
                               std::to_string(c2c.links) + " links (config '" + c.source() + "')");
}

const char* op_name(Op op) { return kOps[static_cast<int>(op)]; }

Op op_from_name(const std::string& name) {
    for (int i = 0; i < kOpCount; ++i)
        if (name == kOps[i]) return static_cast<Op>(i);
    throw sim::ModelError("unknown LPU instruction '" + name + "'");
}

Unit unit_of(Op op) {
    switch (op) {
        case Op::Nop:
        case Op::Sync:
        case Op::Notify:
        case Op::Ifetch:
        case Op::Config:
            return Unit::Icu;
        case Op::Read:
        case Op::Write:
        case Op::Gather:
        case Op::Scatter:
            return Unit::Mem;
        case Op::LW:
        case Op::IW:
        case Op::ABC:
        case Op::ACC:
            return Unit::Mxm;
        case Op::Shift:
        case Op::Permute:
        case Op::Distribute:
        case Op::Rotate:
        case Op::Transpose:
            return Unit::Sxm;
        case Op::Deskew:
        case Op::Send:
        case Op::Receive:
            return Unit::C2c;
        default:
            return Unit::Vxm;
    }
}

const char* unit_name(Unit u) {
    switch (u) {
        case Unit::Icu:
            return "icu";
        case Unit::Mem:
            return "mem";
        case Unit::Vxm:
            return "vxm";
        case Unit::Mxm:
            return "mxm";
        case Unit::Sxm:
            return "sxm";
        case Unit::C2c:
            return "c2c";
    }
    return "?";
}

int64_t output_latency(const LpuSpec& s, const Instr& i) {
    switch (i.op) {
        case Op::Read:
        case Op::Gather:
            return s.mem.read_latency_cycles;
        case Op::Exp:
        case Op::Tanh:
        case Op::Rsqrt:
            return s.vxm.transcendental_cycles;
        case Op::Vunary:
        case Op::Vbinary:
        case Op::Convert:
        case Op::Relu:
            return s.vxm.latency_cycles;
        case Op::ABC:
            return s.mxm.latency_cycles;
        case Op::Shift:
        case Op::Permute:
        case Op::Distribute:
        case Op::Rotate:
            return s.sxm.latency_cycles;
        case Op::Transpose:
            return s.sxm.latency_cycles + i.length / 16;
        default:
            return 0;
    }
}

int64_t busy_cycles(const LpuSpec& s, const Instr& i) {
    switch (i.op) {
        case Op::Nop:
            return std::max<int64_t>(1, i.count);
        case Op::IW:
            return s.mxm.install_cycles(s.lanes.lanes(), s.bytes_per_element());
        case Op::ABC:
            return (s.precision == Precision::Fp16 ? s.mxm.fp16_vectors_per_cycle_divisor : 1) +
                   s.mxm.latency_cycles;
        case Op::Send:
            return s.c2c_serialize_cycles(static_cast<uint64_t>(i.count));
        default:
            return std::max<int64_t>(1, output_latency(s, i) + 1);
    }
}

int64_t queue_position(const std::string& q, int64_t mem_slices) {
    const int64_t half = mem_slices / 2;
    const int64_t vxm = 2 + half;  // MXM.W, SXM.W, then the west MEM slices
    auto index = [&](std::size_t from) {
        if (q.size() <= from) throw sim::ModelError("queue '" + q + "' names no slice");
        return std::stoll(q.substr(from));
    };
    if (q == "VXM" || q.rfind("VXM.", 0) == 0 || q == "ICU" || q == "C2C" || q.rfind("C2C.", 0) == 0) return vxm;
    if (q.rfind("MEM.W", 0) == 0) {
        const int64_t i = index(5);
        if (i < 0 || i >= half) throw sim::ModelError("queue '" + q + "': no such MEM slice");
        return vxm - 1 - i;
    }
    if (q.rfind("MEM.E", 0) == 0) {
        const int64_t i = index(5);
        if (i < 0 || i >= half) throw sim::ModelError("queue '" + q + "': no such MEM slice");
        return vxm + 1 + i;
    }
    if (q.rfind("SXM.W", 0) == 0) return 1;
    if (q.rfind("SXM.E", 0) == 0) return vxm + half + 1;
    if (q.rfind("MXM.W", 0) == 0) return 0;
    if (q.rfind("MXM.E", 0) == 0) return vxm + half + 2;
    throw sim::ModelError("unknown LPU queue '" + q + "'");
}

std::string LpuProgram::to_asm() const {
    using sim::asm_text::quote;
    std::ostringstream s;
    s << "; lpu program: " << chips << " chip(s), " << instructions.size() << " instructions\n";
    for (const auto& line : sim::config::spec_lines(spec)) s << ".spec " << line << '\n';
    s << ".chips n=" << chips << '\n';
    for (const auto& n : graph_inputs) s << ".input name=" << quote(n) << '\n';
    for (const auto& n : graph_outputs) s << ".output name=" << quote(n) << '\n';
    for (const auto& p : placements)
        s << ".place tensor=" << quote(p.tensor) << " chip=" << p.chip << " slice=" << p.slice << " addr=" << p.address
          << " bytes=" << p.bytes << " kind=" << p.kind << '\n';
    for (const auto& sp : spans)
        s << ".span node=" << quote(sp.node) << " op=" << sp.op_type << " chip=" << sp.chip << " start=" << sp.start
          << " end=" << sp.end << " macs=" << sp.macs << " lanes=" << sp.lane_utilization << " bound=" << quote(sp.bound)
          << '\n';
    for (std::size_t c = 0; c < stage_cycles.size(); ++c) s << ".stage chip=" << c << " cycles=" << stage_cycles[c] << '\n';
    for (const auto& i : instructions) {
        s << i.chip << ' ' << i.queue << " @" << i.cycle << ' ' << op_name(i.op) << " in=" << stream_text(i.in)
          << " in2=" << stream_text(i.in2) << " out=" << stream_text(i.out) << " addr=" << i.address
          << " len=" << i.length << " count=" << i.count << " tag=" << i.tag << " expect=" << i.expect
          << " expect2=" << i.expect2;
        if (i.peer >= 0) s << " peer=" << i.peer << " link=" << i.link;
        if (!i.node.empty()) s << " node=" << quote(i.node);
        if (i.repeat > 1) s << " ; Repeat " << i.repeat << ',' << i.stride;
        s << '\n';
    }
    return s.str();
}

LpuProgram LpuProgram::from_asm(const std::string& text) {
    LpuProgram p;
    const sim::asm_text::ProgramText t = sim::asm_text::split_program(text, "lpu");
    p.spec = sim::asm_text::spec_of<LpuSpec>(t, "lpu");
    int line_no = 0;
    auto where = [&] { return "lpu asm line " + std::to_string(line_no); };
    for (const auto& [number, line] : t.lines) {
        line_no = number;
        try {
            if (line[0] == '.') {
                const std::size_t sp = line.find(' ');
                const std::string head = line.substr(0, sp);
                auto f = sim::asm_text::fields(line, sp == std::string::npos ? line.size() : sp, "lpu asm", line_no);
                if (head == ".chips") {
                    p.chips = std::stoi(f.at("n"));
                } else if (head == ".input") {
                    p.graph_inputs.push_back(f.at("name"));
                } else if (head == ".output") {
                    p.graph_outputs.push_back(f.at("name"));
                } else if (head == ".place") {
                    Placement pl;
                    pl.tensor = f.at("tensor");
                    pl.chip = std::stoi(f.at("chip"));
                    pl.slice = std::stoi(f.at("slice"));
                    pl.address = std::stoull(f.at("addr"));
                    pl.bytes = std::stoull(f.at("bytes"));
                    pl.kind = f.at("kind");
                    p.placements.push_back(pl);
                } else if (head == ".span") {
                    NodeSpan sp_;
                    sp_.node = f.at("node");
                    sp_.op_type = f.at("op");
                    sp_.chip = std::stoi(f.at("chip"));
                    sp_.start = std::stoll(f.at("start"));
                    sp_.end = std::stoll(f.at("end"));
                    sp_.macs = std::stoull(f.at("macs"));
                    sp_.lane_utilization = std::stod(f.at("lanes"));
                    sp_.bound = f.at("bound");
                    p.spans.push_back(sp_);
                } else if (head == ".stage") {
                    const auto c = static_cast<std::size_t>(std::stoi(f.at("chip")));
                    if (p.stage_cycles.size() <= c) p.stage_cycles.resize(c + 1, 0);
                    p.stage_cycles[c] = std::stoll(f.at("cycles"));
                } else {
                    throw sim::ModelError("unknown directive '" + head + "'");
                }
                continue;
            }
            // CHIP QUEUE @CYCLE OP key=value ... [; Repeat n,d]
            std::string body = line, repeat;
            if (const std::size_t semi = line.find(" ; Repeat "); semi != std::string::npos) {
                body = line.substr(0, semi);
                repeat = line.substr(semi + 10);
            }
            std::istringstream head(body);
            std::string chip, queue, at, op;
            head >> chip >> queue >> at >> op;
            if (at.empty() || at[0] != '@' || op.empty()) throw sim::ModelError("expected 'CHIP QUEUE @CYCLE OP ...'");
            Instr i;
            i.chip = std::stoi(chip);
            i.queue = queue;
            i.cycle = std::stoll(at.substr(1));
            i.op = op_from_name(op);
            const std::size_t fields_at = body.find(op, body.find('@')) + op.size();
            auto f = sim::asm_text::fields(body, fields_at, "lpu asm", line_no);
            auto get = [&](const char* k, const std::string& dflt) { return f.count(k) ? f.at(k) : dflt; };
            i.in = parse_stream(get("in", "-"));
            i.in2 = parse_stream(get("in2", "-"));
            i.out = parse_stream(get("out", "-"));
            i.address = std::stoll(get("addr", "0"));
            i.length = std::stoll(get("len", "320"));
            i.count = std::stoll(get("count", "0"));
            i.tag = std::stoll(get("tag", "-1"));
            i.expect = std::stoll(get("expect", "-1"));
            i.expect2 = std::stoll(get("expect2", "-1"));
            i.peer = std::stoi(get("peer", "-1"));
            i.link = std::stoi(get("link", "-1"));
            i.node = get("node", "");
            if (!repeat.empty()) {
                const std::size_t comma = repeat.find(',');
                if (comma == std::string::npos) throw sim::ModelError("Repeat takes n,d");
                i.repeat = std::stoll(repeat.substr(0, comma));
                i.stride = std::stoll(repeat.substr(comma + 1));
                if (i.repeat < 1 || i.stride < 1) throw sim::ModelError("Repeat n,d needs n >= 1 and d >= 1");
            }
            queue_position(i.queue, p.spec.mem.slices);  // the queue must exist
            if (i.chip < 0 || i.cycle < 0) throw sim::ModelError("negative chip or cycle");
            p.instructions.push_back(i);
        } catch (const sim::ModelError& e) {
            const std::string m = e.what();
            throw sim::ModelError(m.rfind("lpu asm", 0) == 0 ? m : where() + ": " + m);
        } catch (const std::out_of_range&) {
            throw sim::ModelError(where() + ": a required field is missing or a number is out of range");
        } catch (const std::invalid_argument&) {
            throw sim::ModelError(where() + ": a number does not parse");
        }
    }
    for (const auto& i : p.instructions)
        if (i.chip >= p.chips)
            throw sim::ModelError("lpu asm: an instruction on chip " + std::to_string(i.chip) + " of " +
                                  std::to_string(p.chips));
    return p;
}

}  // namespace xpusim::isa::lpu
