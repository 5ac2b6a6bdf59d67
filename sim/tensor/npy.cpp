#include "sim/tensor/npy.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace xpusim::sim {

namespace {

struct NpyType {
    const char* descr;
    DType dtype;
};
// numpy has no bfloat16 or fp8: those are stored as unsigned bit patterns (see write_npy).
constexpr NpyType kTypes[] = {
    {"<f4", DType::Float32}, {"<f8", DType::Float64}, {"<f2", DType::Float16},
    {"|i1", DType::Int8},    {"|u1", DType::UInt8},   {"<i2", DType::Int16},
    {"<u2", DType::UInt16},  {"<i4", DType::Int32},   {"<u4", DType::UInt32},
    {"<i8", DType::Int64},   {"<u8", DType::UInt64},  {"|b1", DType::Bool},
};

const char* descr_of(DType t) {
    switch (t) {
        case DType::BFloat16:
            return "<u2";
        case DType::Float8E4M3:
        case DType::Float8E5M2:
            return "|u1";
        default:
            break;
    }
    for (const auto& k : kTypes)
        if (k.dtype == t) return k.descr;
    return "|u1";
}

}  // namespace

namespace {

// A header longer than this is not one numpy writes (its headers are a few hundred bytes).
constexpr std::size_t kMaxHeaderBytes = 1 << 20;

struct NpyHeader {
    std::size_t data_offset = 0;  // where the array's bytes start in the file
    std::string descr;
    bool fortran_order = false;
    Shape shape;
};

// The header's Python dict literal, {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), },
// read by a small scanner (no backtracking regex: a hostile 64 KB header must stay linear).
class HeaderScanner {
  public:
    HeaderScanner(const std::string& text, const std::string& what) : m_text(text), m_what(what) {}

    NpyHeader parse() {
        NpyHeader h;
        bool seen_descr = false, seen_shape = false;
        expect('{');
        while (!peek('}')) {
            const std::string key = quoted();
            expect(':');
            if (key == "descr") {
                h.descr = quoted();
                seen_descr = true;
            } else if (key == "fortran_order") {
                h.fortran_order = boolean();
            } else if (key == "shape") {
                h.shape = shape();
                seen_shape = true;
            } else {
                fail("unknown key '" + key + "'");
            }
            if (!peek('}')) expect(',');
        }
        expect('}');
        if (!seen_descr) fail("no 'descr'");
        if (!seen_shape) fail("no 'shape'");
        return h;
    }

  private:
    [[noreturn]] void fail(const std::string& why) const {
        throw ModelError(m_what + ": bad .npy header: " + why);
    }
    void skip_space() {
        while (m_at < m_text.size() &&
               (m_text[m_at] == ' ' || m_text[m_at] == '\t' || m_text[m_at] == '\n'))
            ++m_at;
    }
    bool peek(char c) {
        skip_space();
        return m_at < m_text.size() && m_text[m_at] == c;
    }
    void expect(char c) {
        if (!peek(c)) fail(std::string("expected '") + c + "'");
        ++m_at;
    }
    std::string quoted() {
        skip_space();
        if (m_at >= m_text.size() || (m_text[m_at] != '\'' && m_text[m_at] != '"'))
            fail("expected a quoted string");
        const char q = m_text[m_at++];
        const std::size_t end = m_text.find(q, m_at);
        if (end == std::string::npos) fail("unterminated string");
        std::string s = m_text.substr(m_at, end - m_at);
        m_at = end + 1;
        return s;
    }
    bool boolean() {
        skip_space();
        for (const char* word : {"True", "False"}) {
            const std::size_t n = std::strlen(word);
            if (m_text.compare(m_at, n, word) == 0) {
                m_at += n;
                return word[0] == 'T';
            }
        }
        fail("fortran_order is neither True nor False");
    }
    // (d0, d1, ...) of non-negative decimal integers; (n,) and () included.
    Shape shape() {
        Shape out;
        expect('(');
        while (!peek(')')) {
            const std::size_t start = m_at;
            uint64_t d = 0;
            while (m_at < m_text.size() && m_text[m_at] >= '0' && m_text[m_at] <= '9') {
                d = d * 10 + static_cast<uint64_t>(m_text[m_at] - '0');
                if (d > (uint64_t{1} << 62)) fail("a dimension is too large");
                ++m_at;
            }
            if (m_at == start) fail("a dimension is not a non-negative integer");
            if (m_at < m_text.size() && m_text[m_at] == 'L') ++m_at;  // Python 2's long suffix
            if (!peek(',') && !peek(')')) fail("a dimension is not a non-negative integer");
            out.push_back(static_cast<int64_t>(d));
            if (peek(',')) ++m_at;
        }
        expect(')');
        return out;
    }

    const std::string& m_text;
    const std::string& m_what;
    std::size_t m_at = 0;
};

// Where the header's dict starts and how long it is, from the first 12 bytes (magic, version,
// length): {offset, length}.
std::pair<std::size_t, std::size_t> header_extent(const std::string& bytes,
                                                  const std::string& what) {
    if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
        throw ModelError(what + ": not a .npy file (bad magic)");
    const int major = static_cast<unsigned char>(bytes[6]);
    const auto byte = [&](std::size_t i) {
        return static_cast<std::size_t>(static_cast<unsigned char>(bytes[i]));
    };
    std::size_t offset = 10, length = byte(8) | (byte(9) << 8);
    if (major == 2 || major == 3) {
        if (bytes.size() < 12) throw ModelError(what + ": truncated .npy header");
        offset = 12;
        length = byte(8) | (byte(9) << 8) | (byte(10) << 16) | (byte(11) << 24);
    } else if (major != 1) {
        throw ModelError(what + ": unsupported .npy version " + std::to_string(major));
    }
    if (length > kMaxHeaderBytes)
        throw ModelError(what + ": .npy header of " + std::to_string(length) +
                         " bytes (numpy writes a few hundred)");
    return {offset, length};
}

// The magic, version and header of a .npy, from its first bytes (at least the whole header).
NpyHeader read_header(const std::string& bytes, const std::string& what) {
    const auto [offset, length] = header_extent(bytes, what);
    if (offset + length > bytes.size()) throw ModelError(what + ": truncated .npy header");
    NpyHeader h = HeaderScanner(bytes.substr(offset, length), what).parse();
    h.data_offset = offset + length;
    if (h.descr == "<b1" || h.descr == "b1") h.descr = "|b1";
    if (h.descr == "<i1") h.descr = "|i1";
    if (h.descr == "<u1") h.descr = "|u1";
    if (h.fortran_order) throw ModelError(what + ": Fortran-order .npy arrays are not supported");
    return h;
}

const NpyType& type_of(const NpyHeader& h, const std::string& what) {
    for (const auto& k : kTypes)
        if (h.descr == k.descr) return k;
    throw ModelError(what + ": unsupported .npy dtype '" + h.descr + "'");
}

// The bytes of data the header declares, or ModelError when they overflow.
uint64_t declared_bytes(const NpyHeader& h, const NpyType& type, const std::string& what) {
    uint64_t n = dtype_size(type.dtype);
    for (int64_t d : h.shape) {
        if (d != 0 && n > (uint64_t{1} << 62) / static_cast<uint64_t>(d))
            throw ModelError(what + ": .npy shape " + shape_str(h.shape) + " is too large");
        n *= static_cast<uint64_t>(d);
    }
    return n;
}

}  // namespace

Tensor parse_npy(const std::string& bytes, const std::string& what) {
    const NpyHeader h = read_header(bytes, what);
    const NpyType& type = type_of(h, what);
    const uint64_t want = declared_bytes(h, type, what);
    const uint64_t have = bytes.size() - h.data_offset;
    if (have != want)
        throw ModelError(what + ": .npy declares shape " + shape_str(h.shape) + " (" +
                         std::to_string(want) + " bytes of data) but holds " +
                         std::to_string(have) + " bytes");
    Tensor t(type.dtype, h.shape);
    if (t.nbytes()) std::memcpy(t.raw(), bytes.data() + h.data_offset, t.nbytes());
    return t;
}

Tensor read_npy(const std::string& path) {
    // A regular file only: a FIFO would block, a device (/dev/zero) never ends.
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(status))
        throw IoError("cannot open input file '" + path + "'");
    if (!std::filesystem::is_regular_file(status))
        throw IoError("input file '" + path + "' is not a regular file");
    const uint64_t size = std::filesystem::file_size(path, ec);
    if (ec) throw IoError("cannot read the size of input file '" + path + "'");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw IoError("cannot open input file '" + path + "'");
    // The header first; then exactly the bytes it declares, from a file of exactly that size.
    const std::string what = "'" + path + "'";
    auto read = [&](std::string& into, std::size_t n) {
        into.resize(n);
        in.read(into.data(), static_cast<std::streamsize>(n));
        if (static_cast<std::size_t>(in.gcount()) != n)
            throw ModelError(what + ": truncated .npy header");
    };
    std::string head;
    read(head, static_cast<std::size_t>(std::min<uint64_t>(size, 12)));
    const auto [offset, length] = header_extent(head, what);
    std::string rest;
    if (offset + length > head.size()) read(rest, offset + length - head.size());
    head.resize(std::min(head.size(), offset + length));
    head += rest;
    const NpyHeader h = read_header(head, what);
    const NpyType& type = type_of(h, what);
    const uint64_t want = declared_bytes(h, type, what);
    if (size != h.data_offset + want)
        throw ModelError(what + ": .npy declares shape " + shape_str(h.shape) + " (" +
                         std::to_string(want) + " bytes of data) but holds " +
                         std::to_string(size - h.data_offset) + " bytes");
    Tensor t(type.dtype, h.shape);
    in.seekg(static_cast<std::streamoff>(h.data_offset));
    if (t.nbytes()) in.read(static_cast<char*>(t.raw()), static_cast<std::streamsize>(t.nbytes()));
    if (!in) throw IoError("cannot read input file '" + path + "'");
    return t;
}

std::string serialize_npy(const Tensor& t) {
    std::string shape = "(";
    for (std::size_t i = 0; i < t.shape().size(); ++i)
        shape += std::to_string(t.shape()[i]) +
                 (t.shape().size() == 1 ? "," : (i + 1 < t.shape().size() ? ", " : ""));
    shape += ")";
    std::string header = std::string("{'descr': '") + descr_of(t.dtype()) +
                         "', 'fortran_order': False, 'shape': " + shape + ", }";
    // Pad with spaces so the data starts on a 64-byte boundary; the header ends in '\n'.
    while ((10 + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::string out("\x93NUMPY\x01\x00", 8);
    out += static_cast<char>(header.size() & 0xff);
    out += static_cast<char>((header.size() >> 8) & 0xff);
    out += header;
    out.append(static_cast<const char*>(t.raw()), t.nbytes());
    return out;
}

void write_npy(const std::string& path, const Tensor& t) {
    std::ofstream out(path, std::ios::binary);
    if (!out) throw IoError("cannot write '" + path + "'");
    const std::string bytes = serialize_npy(t);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw IoError("error writing '" + path + "'");
}

}  // namespace xpusim::sim
