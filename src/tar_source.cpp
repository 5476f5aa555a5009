#include "olot/tar_source.h"

#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "olot/error.h"

namespace olot {

namespace {
constexpr size_t read_block_size = 1 << 20;
// Sparse holes are served from here, a slice at a time.
constexpr size_t zero_block_size = 64 << 10;
const unsigned char zero_block[zero_block_size] = {};

EntryType type_of(archive_entry* e) {
  if (archive_entry_hardlink(e)) return EntryType::hardlink;
  switch (archive_entry_filetype(e)) {
    case AE_IFREG: return EntryType::file;
    case AE_IFDIR: return EntryType::directory;
    case AE_IFLNK: return EntryType::symlink;
    case AE_IFCHR:
    case AE_IFBLK: return EntryType::device;
    case AE_IFIFO: return EntryType::fifo;
    default: return EntryType::other;
  }
}
}  // namespace

TarSource::TarSource(int fd, std::string name)
    : fd_(fd), name_(std::move(name)), archive_(archive_read_new(), archive_read_free), buffer_(read_block_size) {
  if (!archive_) throw Error(Exit::software, "cannot allocate a tar reader");
  // Only the compressions done in-process: libarchive would run external
  // programs (lrzip, lzop, grzip) for the others.
  archive_read_support_filter_gzip(archive_.get());
  archive_read_support_filter_zstd(archive_.get());
  archive_read_support_format_tar(archive_.get());
  archive_read_support_format_gnutar(archive_.get());
  if (archive_read_open(archive_.get(), this, nullptr, &TarSource::read_callback, nullptr) != ARCHIVE_OK)
    fail_before_first_entry();
}

TarSource::~TarSource() = default;

long TarSource::read_callback(archive*, void* opaque, const void** buffer) {
  auto* self = static_cast<TarSource*>(opaque);
  *buffer = self->buffer_.data();
  for (;;) {
    ssize_t n = ::read(self->fd_, self->buffer_.data(), self->buffer_.size());
    if (n >= 0) {
      self->raw_bytes_ += static_cast<uint64_t>(n);
      return n;
    }
    if (errno == EINTR) continue;
    self->read_errno_ = errno;
    return -1;
  }
}

void TarSource::fail_before_first_entry() {
  if (read_errno_) fail_from_archive("cannot read input");
  if (raw_bytes_ == 0) fail(Exit::data, "empty input", name_ + " (expected an OCI image layout tar)");
  fail(Exit::data, "input is not a tar archive", name_ + " (expected an OCI image layout tar, optionally gzip or zstd compressed)");
}

void TarSource::fail_from_archive(const std::string& while_doing) {
  if (read_errno_) fail(Exit::io, "cannot read input", name_ + " (" + std::strerror(read_errno_) + ")");
  const char* why = archive_error_string(archive_.get());
  std::string where = current_.empty() ? name_ : current_;
  throw Error(Exit::data, while_doing + ": " + where + " (" + (why ? why : "unknown tar error") + ")");
}

uint64_t TarSource::position() const {
  return archive_ ? static_cast<uint64_t>(archive_filter_bytes(archive_.get(), 0)) : final_position_;
}

bool TarSource::next(EntryHeader& header) {
  if (!archive_) return false;
  archive_entry* entry = nullptr;
  int r = archive_read_next_header(archive_.get(), &entry);
  if (r == ARCHIVE_EOF) {
    // libarchive treats end of input at a block boundary as the end of the
    // archive; the two zero blocks, when present, were consumed after the
    // last entry.
    final_position_ = position();
    missing_end_marker_ = final_position_ < end_of_last_entry_ + 1024;
    // The reader's buffers and any decompressor window are not needed any
    // more, and would add to the peak while the documents are parsed.
    archive_.reset();
    std::vector<unsigned char>().swap(buffer_);
    entry_done_ = true;
    return false;
  }
  // ARCHIVE_RETRY means a damaged header; libarchive would skip ahead to
  // the next one that looks valid, which for us would lose data.
  if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
    if (current_.empty() && position() == 0) fail_before_first_entry();
    current_ = current_.empty() ? name_ : "after " + current_;
    fail_from_archive("corrupt or truncated tar");
  }
  const char* path = archive_entry_pathname(entry);
  current_ = path ? path : "";
  header.path = current_;
  header.type = type_of(entry);
  header.size = archive_entry_size_is_set(entry) ? static_cast<uint64_t>(archive_entry_size(entry)) : 0;
  entry_size_ = header.type == EntryType::file ? header.size : 0;
  entry_offset_ = 0;
  entry_done_ = false;
  pending_size_ = 0;
  return true;
}

std::span<const unsigned char> TarSource::read() {
  if (entry_done_) return {};
  if (pending_size_ == 0) {
    const void* block = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    int r = archive_read_data_block(archive_.get(), &block, &size, &offset);
    if (r == ARCHIVE_EOF) {
      pending_ = nullptr;
      pending_size_ = 0;
      pending_offset_ = static_cast<int64_t>(entry_size_);
    } else if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      fail_from_archive("corrupt or truncated tar");
    } else {
      pending_ = static_cast<const unsigned char*>(block);
      pending_size_ = size;
      pending_offset_ = offset;
    }
  }
  // A hole before the pending data (or before the end) reads as zeros.
  if (static_cast<uint64_t>(pending_offset_) > entry_offset_) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(pending_offset_ - entry_offset_, zero_block_size));
    entry_offset_ += n;
    return {zero_block, n};
  }
  if (pending_size_ == 0) {
    entry_done_ = true;
    end_of_last_entry_ = position();
    return {};
  }
  std::span<const unsigned char> out(pending_, pending_size_);
  entry_offset_ += pending_size_;
  pending_offset_ += static_cast<int64_t>(pending_size_);
  pending_size_ = 0;
  return out;
}

}  // namespace olot
