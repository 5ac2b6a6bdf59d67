#include "sim/tensor/read_only_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sim/error.h"

namespace xpusim::sim {

std::shared_ptr<const ReadOnlyFile> ReadOnlyFile::open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw IoError("cannot open '" + path + "': " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw IoError("'" + path + "' is not a regular file");
    }
    return std::shared_ptr<const ReadOnlyFile>(
        new ReadOnlyFile(path, fd, static_cast<std::size_t>(st.st_size)));
}

ReadOnlyFile::ReadOnlyFile(std::string path, int fd, std::size_t size)
    : m_path(std::move(path)), m_fd(fd), m_size(size) {}

ReadOnlyFile::~ReadOnlyFile() {
    ::close(m_fd);
}

void ReadOnlyFile::read(std::size_t offset, std::size_t size, void* out) const {
    auto* p = static_cast<char*>(out);
    std::size_t done = 0;
    while (done < size) {
        const ssize_t n = ::pread(m_fd, p + done, size - done, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
            throw IoError("cannot read " + std::to_string(size) + " bytes at offset " +
                          std::to_string(offset) + " of '" + m_path + "'" +
                          (n < 0 ? std::string(": ") + std::strerror(errno)
                                 : std::string(": the file was cut short while in use")));
        done += static_cast<std::size_t>(n);
    }
}

}  // namespace xpusim::sim
