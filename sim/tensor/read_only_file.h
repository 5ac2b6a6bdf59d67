// A model file held open so that tensors can read their bytes from it when first accessed
// (Tensor::from_file): weights nothing reads never come into memory. Reads go through pread into
// the tensor's own buffer, not through a memory mapping, so no page of the file is ever counted
// in the process's resident memory (a mapping brings in whole page-cache folios around every
// byte touched: on Linux 6.18, 300 MB of a 1.2 GB model for reading its initializers' headers).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace xpusim::sim {

class ReadOnlyFile {
  public:
    /// @brief Opens the regular file at `path` for reading; IoError if it cannot. It stays open
    /// as long as the last holder.
    static std::shared_ptr<const ReadOnlyFile> open(const std::string& path);
    ~ReadOnlyFile();
    ReadOnlyFile(const ReadOnlyFile&) = delete;
    ReadOnlyFile& operator=(const ReadOnlyFile&) = delete;

    /// @brief The file descriptor, for streaming through the file once (its offset is the
    /// streamer's; read() does not use it).
    int fd() const { return m_fd; }
    /// @brief The size when opened.
    std::size_t size() const { return m_size; }
    const std::string& path() const { return m_path; }

    /// @brief Reads [offset, offset + size) into `out` (thread-safe); IoError if the file no
    /// longer holds those bytes (it was cut short while in use).
    void read(std::size_t offset, std::size_t size, void* out) const;

  private:
    ReadOnlyFile(std::string path, int fd, std::size_t size);

    std::string m_path;
    int m_fd;
    std::size_t m_size;
};

}  // namespace xpusim::sim
