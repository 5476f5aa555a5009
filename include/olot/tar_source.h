// Stage 1, tar in: the input archive read with libarchive, one entry at a
// time, data in large blocks. Knows nothing of OCI.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

struct archive;
struct archive_entry;

namespace olot {

enum class EntryType { file, directory, symlink, hardlink, device, fifo, other };

struct EntryHeader {
  std::string path;  // as stored (may carry "./")
  EntryType type = EntryType::file;
  uint64_t size = 0;
};

class TarSource {
 public:
  // Reads from `fd` (not owned); `name` is used in messages ("stdin" or a path).
  TarSource(int fd, std::string name);
  ~TarSource();
  TarSource(const TarSource&) = delete;
  TarSource& operator=(const TarSource&) = delete;

  // Advances to the next entry; false at the end of the archive, where the
  // reader lets go of its buffers.
  bool next(EntryHeader& header);
  // The next piece of the current entry's data, sparse holes as zeros; an
  // empty span once the entry is complete. Valid until the next call.
  std::span<const unsigned char> read();
  // True when the archive ended without its end-of-archive blocks.
  bool missing_end_marker() const { return missing_end_marker_; }
  // Bytes of (decompressed) tar consumed so far.
  uint64_t position() const;

 private:
  static long read_callback(archive*, void* self, const void** buffer);
  [[noreturn]] void fail_from_archive(const std::string& while_doing);
  [[noreturn]] void fail_before_first_entry();

  int fd_;
  std::string name_;
  std::unique_ptr<archive, int (*)(archive*)> archive_;
  std::vector<unsigned char> buffer_;
  int read_errno_ = 0;
  uint64_t raw_bytes_ = 0;
  std::string current_;
  uint64_t entry_size_ = 0, entry_offset_ = 0;
  bool entry_done_ = true;
  const unsigned char* pending_ = nullptr;
  size_t pending_size_ = 0;
  int64_t pending_offset_ = 0;
  bool missing_end_marker_ = false;
  uint64_t end_of_last_entry_ = 0;
  uint64_t final_position_ = 0;  // position() once the archive is released
};

}  // namespace olot
