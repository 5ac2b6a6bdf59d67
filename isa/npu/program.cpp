// NpuProgram: the text assembler and disassembler. Every payload lists its registers in visit();
// FieldWriter prints them as key=value and FieldReader reads them back strictly (a missing or
// unknown key is an error naming the line), so printing and parsing cannot drift apart.
#include "isa/npu/program.h"

#include <cinttypes>
#include <cstdio>
#include <map>
#include <sstream>

#include "sim/error.h"

namespace xpusim::isa::npu {

const char* unit_name(Unit u) {
    switch (u) {
        case Unit::Conv:
            return "conv";
        case Unit::Sdp:
            return "sdp";
        case Unit::Pdp:
            return "pdp";
        case Unit::Cdp:
            return "cdp";
        case Unit::Bdma:
            return "bdma";
        case Unit::Host:
            return "host";
    }
    return "?";
}

namespace {
const sim::ProgramReaderRegistration s_reader{"npu", [](const std::string& text) -> std::unique_ptr<sim::Program> {
    return NpuProgram::parse(text);
}};
}  // namespace

namespace {

std::string quote(const std::string& s) {
    std::string out = "\"";
    for (char ch : s) {
        if (ch == '"' || ch == '\\') out += '\\';
        if (ch == '\n') {
            out += "\\n";
            continue;
        }
        out += ch;
    }
    return out + "\"";
}

std::string format_double(double x) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", x);
    return buf;
}

/// Appends " key=value" for each field.
struct FieldWriter {
    std::string& out;
    void put(const char* key, const std::string& value) {
        out += ' ', out += key, out += '=', out += value;
    }
    void operator()(const char* k, int32_t v) { put(k, std::to_string(v)); }
    void operator()(const char* k, int64_t v) { put(k, std::to_string(v)); }
    void operator()(const char* k, uint64_t v) {
        if (std::string(k) != "addr") return put(k, std::to_string(v));
        char buf[24];
        std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
        put(k, buf);
    }
    void operator()(const char* k, double v) { put(k, format_double(v)); }
    void operator()(const char* k, const std::string& v) { put(k, quote(v)); }
    void operator()(const char* k, sim::DType v) { put(k, sim::dtype_name(v)); }
    void operator()(const char* k, Precision v) { put(k, precision_name(v)); }
    void operator()(const char* k, sim::Placement v) { put(k, sim::placement_name(v)); }
    void operator()(const char* k, const FixedMultiplier& v) {
        put(k, std::to_string(v.mantissa) + ":" + std::to_string(v.shift));
    }
    void operator()(const char* k, const sim::Shape& v) {
        put(k, v.empty() ? std::string("scalar") : sim::shape_str(v));
    }
    void operator()(const char* k, const std::vector<int32_t>& v) {
        std::string s;
        for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
        put(k, s.empty() ? "-" : s);
    }
};

/// One parsed line: the directive and its key=value pairs (`node` may repeat).
struct Line {
    int number = 0;
    std::string head;
    std::map<std::string, std::string> kv;
    std::vector<std::string> nodes;
};

[[noreturn]] void fail(int line, const std::string& what) {
    throw sim::ModelError("NPU assembly line " + std::to_string(line) + ": " + what);
}

Line tokenize(const std::string& text, int number) {
    Line l;
    l.number = number;
    std::size_t i = 0;
    auto skip_ws = [&] {
        while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    };
    skip_ws();
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') l.head += text[i++];
    while (true) {
        skip_ws();
        if (i >= text.size() || text[i] == ';') break;
        std::string key;
        while (i < text.size() && text[i] != '=' && text[i] != ' ') key += text[i++];
        if (i >= text.size() || text[i] != '=')
            fail(number, "expected key=value after '" + key + "'");
        ++i;
        std::string value;
        if (i < text.size() && text[i] == '"') {
            ++i;
            bool closed = false;
            while (i < text.size()) {
                char ch = text[i++];
                if (ch == '\\' && i < text.size()) {
                    const char e = text[i++];
                    value += e == 'n' ? '\n' : e;
                } else if (ch == '"') {
                    closed = true;
                    break;
                } else {
                    value += ch;
                }
            }
            if (!closed) fail(number, "unterminated string for '" + key + "'");
        } else {
            while (i < text.size() && text[i] != ' ' && text[i] != '\t') value += text[i++];
        }
        if (key == "node") {
            l.nodes.push_back(value);
        } else if (!l.kv.emplace(key, value).second) {
            fail(number, "key '" + key + "' given twice");
        }
    }
    return l;
}

int64_t parse_int(const Line& l, const std::string& k, const std::string& v) {
    try {
        std::size_t pos = 0;
        const int64_t x = std::stoll(v, &pos, 0);
        if (pos != v.size()) throw std::invalid_argument(v);
        return x;
    } catch (const std::exception&) {
        fail(l.number, "'" + k + "' is not an integer: '" + v + "'");
    }
}

/// Reads each visited field from a Line, consuming its key.
struct FieldReader {
    Line& l;
    std::string take(const char* k) {
        auto it = l.kv.find(k);
        if (it == l.kv.end()) fail(l.number, std::string("missing '") + k + "'");
        std::string v = it->second;
        l.kv.erase(it);
        return v;
    }
    void operator()(const char* k, int32_t& v) {
        v = static_cast<int32_t>(parse_int(l, k, take(k)));
    }
    void operator()(const char* k, int64_t& v) { v = parse_int(l, k, take(k)); }
    void operator()(const char* k, uint64_t& v) {
        const std::string s = take(k);
        try {
            v = std::stoull(s, nullptr, 0);
        } catch (const std::exception&) {
            fail(l.number, std::string("'") + k + "' is not an address: '" + s + "'");
        }
    }
    void operator()(const char* k, double& v) {
        const std::string s = take(k);
        try {
            v = std::stod(s);
        } catch (const std::exception&) {
            fail(l.number, std::string("'") + k + "' is not a number: '" + s + "'");
        }
    }
    void operator()(const char* k, std::string& v) { v = take(k); }
    void operator()(const char* k, sim::DType& v) {
        const std::string s = take(k);
        try {
            v = sim::dtype_from_name(s);
        } catch (const sim::Error&) {
            fail(l.number, "unknown dtype '" + s + "'");
        }
    }
    void operator()(const char* k, Precision& v) {
        const std::string s = take(k);
        if (s == "int8")
            v = Precision::Int8;
        else if (s == "fp16")
            v = Precision::Fp16;
        else
            fail(l.number, "unknown precision '" + s + "'");
    }
    void operator()(const char* k, sim::Placement& v) {
        const std::string s = take(k);
        if (s == "native")
            v = sim::Placement::Native;
        else if (s == "lowered")
            v = sim::Placement::Lowered;
        else if (s == "host")
            v = sim::Placement::Host;
        else
            fail(l.number, "unknown placement '" + s + "'");
    }
    void operator()(const char* k, FixedMultiplier& v) {
        const std::string s = take(k);
        const auto colon = s.find(':');
        if (colon == std::string::npos)
            fail(l.number, std::string("'") + k + "' is not mantissa:shift");
        v.mantissa = static_cast<int32_t>(parse_int(l, k, s.substr(0, colon)));
        v.shift = static_cast<int32_t>(parse_int(l, k, s.substr(colon + 1)));
    }
    void operator()(const char* k, sim::Shape& v) {
        const std::string s = take(k);
        v.clear();
        if (s == "scalar") return;
        std::stringstream ss(s);
        std::string part;
        while (std::getline(ss, part, 'x')) v.push_back(parse_int(l, k, part));
    }
    void operator()(const char* k, std::vector<int32_t>& v) {
        const std::string s = take(k);
        v.clear();
        if (s == "-") return;
        std::stringstream ss(s);
        std::string part;
        while (std::getline(ss, part, ','))
            v.push_back(static_cast<int32_t>(parse_int(l, k, part)));
    }
    void finish() {
        if (!l.kv.empty()) fail(l.number, "unknown key '" + l.kv.begin()->first + "'");
    }
};

const char* kHex = "0123456789abcdef";

void write_data(std::string& out, const Surface& s) {
    const auto* bytes = static_cast<const uint8_t*>(s.data.raw());
    const std::size_t n = s.data.nbytes();
    out += ".data id=" + std::to_string(s.id) + " dtype=" + sim::dtype_name(s.data.dtype()) +
           " count=" + std::to_string(s.data.numel()) + "\n";
    for (std::size_t i = 0; i < n; i += 64) {
        out += "  ";
        for (std::size_t j = i; j < std::min(n, i + 64); ++j) {
            out += kHex[bytes[j] >> 4];
            out += kHex[bytes[j] & 15];
        }
        out += '\n';
    }
    out += ".end\n";
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

const Surface& NpuProgram::surface(int32_t id) const {
    if (id < 0 || id >= static_cast<int32_t>(surfaces.size()))
        throw sim::ModelError("NPU program: no surface " + std::to_string(id));
    return surfaces[static_cast<std::size_t>(id)];
}

Surface& NpuProgram::surface(int32_t id) {
    return const_cast<Surface&>(static_cast<const NpuProgram*>(this)->surface(id));
}

const Surface& NpuProgram::storage(int32_t id) const {
    const Surface* s = &surface(id);
    for (int hops = 0; s->alias >= 0; ++hops) {
        if (hops > static_cast<int>(surfaces.size()))
            throw sim::ModelError("NPU program: alias cycle");
        s = &surface(s->alias);
    }
    return *s;
}

int32_t NpuProgram::add_surface(Surface s) {
    s.id = static_cast<int32_t>(surfaces.size());
    surfaces.push_back(std::move(s));
    return surfaces.back().id;
}

int32_t NpuProgram::add_descriptor(Descriptor d) {
    d.id = static_cast<int32_t>(descriptors.size());
    descriptors.push_back(std::move(d));
    return descriptors.back().id;
}

std::string NpuProgram::to_asm() const {
    std::string out = "; xpusim NPU program: NVDLA-style register groups in issue order\n";
    for (const auto& line : sim::config::spec_lines(spec)) out += ".spec " + line + "\n";
    for (const auto& n : nodes) {
        out += ".node";
        FieldWriter w{out};
        const_cast<NodeInfo&>(n).visit(w);
        out += '\n';
    }
    for (const auto& b : inputs) {
        out += ".input";
        FieldWriter w{out};
        const_cast<Binding&>(b).visit(w);
        out += '\n';
    }
    for (const auto& b : outputs) {
        out += ".output";
        FieldWriter w{out};
        const_cast<Binding&>(b).visit(w);
        out += '\n';
    }
    for (const auto& s : surfaces) {
        out += ".surface";
        FieldWriter w{out};
        const_cast<Surface&>(s).visit(w);
        out += '\n';
        if (s.kind == "const" && s.data.valid()) write_data(out, s);
    }
    for (const auto& d : descriptors) {
        out += unit_name(d.unit());
        FieldWriter w{out};
        w("id", d.id);
        w("source", d.source);
        for (const auto& n : d.nodes) w("node", n);
        std::visit([&](auto& p) { const_cast<std::decay_t<decltype(p)>&>(p).visit(w); }, d.payload);
        if (d.unit() == Unit::Host)
            out += "  ; host call: compute not in the text, re-bind from the graph";
        out += '\n';
        if (const auto* sdp = std::get_if<SdpDesc>(&d.payload))
            for (const auto& st : sdp->stages) {
                out += "  stage";
                FieldWriter sw{out};
                const_cast<SdpStage&>(st).visit(sw);
                out += '\n';
            }
    }
    return out;
}

std::unique_ptr<NpuProgram> NpuProgram::parse(const std::string& text) {
    auto prog = std::make_unique<NpuProgram>();
    std::istringstream in(text);
    std::string raw;
    int number = 0;
    std::vector<std::string> spec_lines;
    int spec_end = 0;
    // The Spec is complete at the first line that is not `.spec`: validate it like a config.
    auto finish_spec = [&] {
        spec_end = number;
        try {
            prog->spec = sim::config::spec_from_lines<NpuSpec>("npu", spec_lines);
        } catch (const sim::ConfigError& e) {
            fail(number, std::string("the .spec lines do not make a valid npu Spec: ") + e.what());
        }
    };
    while (std::getline(in, raw)) {
        ++number;
        const auto first = raw.find_first_not_of(" \t");
        if (first == std::string::npos || raw[first] == ';') continue;
        if (raw.compare(first, 6, ".spec ") == 0) {
            if (spec_end) fail(number, ".spec lines must come first");
            spec_lines.push_back(raw.substr(first + 6));
            continue;
        }
        if (!spec_end) finish_spec();
        Line l = tokenize(raw, number);
        FieldReader r{l};
        if (l.head == ".node") {
            NodeInfo n;
            n.visit(r);
            prog->nodes.push_back(std::move(n));
        } else if (l.head == ".input" || l.head == ".output") {
            Binding b;
            b.visit(r);
            (l.head == ".input" ? prog->inputs : prog->outputs).push_back(std::move(b));
        } else if (l.head == ".surface") {
            Surface s;
            s.visit(r);
            if (s.id != static_cast<int32_t>(prog->surfaces.size()))
                fail(number, "surface ids must count up from 0");
            prog->surfaces.push_back(std::move(s));
        } else if (l.head == ".data") {
            int32_t id = -1;
            sim::DType dtype{};
            int64_t count = 0;
            r("id", id), r("dtype", dtype), r("count", count);
            r.finish();
            if (id < 0 || id >= static_cast<int32_t>(prog->surfaces.size()))
                fail(number, "data for an unknown surface");
            Surface& s = prog->surfaces[static_cast<std::size_t>(id)];
            if (count != sim::shape_numel(s.shape))
                fail(number, "data count does not match the surface shape");
            s.data = sim::Tensor(dtype, s.shape);
            auto* bytes = static_cast<uint8_t*>(s.data.raw());
            const std::size_t nbytes = s.data.nbytes();
            std::size_t filled = 0;
            while (std::getline(in, raw)) {
                ++number;
                if (raw.rfind(".end", 0) == 0) break;
                for (std::size_t i = 0; i < raw.size(); ++i) {
                    if (raw[i] == ' ') continue;
                    const int hi = hex_value(raw[i]);
                    const int lo = i + 1 < raw.size() ? hex_value(raw[i + 1]) : -1;
                    if (hi < 0 || lo < 0 || filled >= nbytes) fail(number, "bad hex data");
                    bytes[filled++] = static_cast<uint8_t>(hi * 16 + lo);
                    ++i;
                }
            }
            if (filled != nbytes)
                fail(number, "data block has " + std::to_string(filled) + " of " +
                                 std::to_string(nbytes) + " bytes");
            continue;
        } else if (l.head == "stage") {
            if (prog->descriptors.empty()) fail(number, "stage before any sdp descriptor");
            auto* sdp = std::get_if<SdpDesc>(&prog->descriptors.back().payload);
            if (!sdp) fail(number, "stage after a non-sdp descriptor");
            SdpStage st;
            st.visit(r);
            sdp->stages.push_back(std::move(st));
        } else {
            Descriptor d;
            r("id", d.id);
            r("source", d.source);
            d.nodes = l.nodes;
            if (l.head == "conv")
                d.payload = ConvDesc{};
            else if (l.head == "sdp")
                d.payload = SdpDesc{};
            else if (l.head == "pdp")
                d.payload = PdpDesc{};
            else if (l.head == "cdp")
                d.payload = CdpDesc{};
            else if (l.head == "bdma")
                d.payload = BdmaDesc{};
            else if (l.head == "host")
                d.payload = HostDesc{};
            else
                fail(number, "unknown directive '" + l.head + "'");
            std::visit([&](auto& p) { p.visit(r); }, d.payload);
            if (d.id != static_cast<int32_t>(prog->descriptors.size()))
                fail(number, "descriptor ids must count up from 0");
            if (auto* h = std::get_if<HostDesc>(&d.payload)) {
                if (h->call < 0) fail(number, "host call index must be >= 0");
                if (prog->host_calls.size() <= static_cast<std::size_t>(h->call))
                    prog->host_calls.resize(static_cast<std::size_t>(h->call) + 1);
                auto& call = prog->host_calls[static_cast<std::size_t>(h->call)];
                call.node = d.nodes.empty() ? "" : d.nodes.front();
                call.op_type = h->op_type;
                call.cost = {h->flops, h->bytes};
            }
            prog->descriptors.push_back(std::move(d));
        }
        r.finish();
    }
    if (!spec_end) finish_spec();
    return prog;
}

}  // namespace xpusim::isa::npu
