#include "olot/tar_sink.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <climits>

#include "olot/error.h"

namespace olot {

namespace {
constexpr std::string_view oci_layout_bytes = R"({"imageLayoutVersion":"1.0.0"})";

struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
}  // namespace

TarSink::TarSink(ByteSink& out, int64_t mtime)
    : out_(out), mtime_(mtime), archive_(archive_write_new(), archive_write_free) {
  if (!archive_) throw Error(Exit::software, "cannot allocate a tar writer");
  archive_write_set_format_pax_restricted(archive_.get());
  // Unblocked: every write goes straight to the output, no record padding.
  archive_write_set_bytes_per_block(archive_.get(), 0);
  if (archive_write_open(archive_.get(), this, nullptr, &TarSink::write_callback, nullptr) != ARCHIVE_OK)
    fail_from_archive();
  put_extra("oci-layout", oci_layout_bytes);
}

TarSink::~TarSink() {
  // Closing (not archive_write_fail) frees libarchive's client-filter state;
  // what close writes (the end of an entry, the end-of-archive blocks) is
  // dropped by the write callback, so the output stays unterminated.
  if (archive_ && !committed_) {
    discard_ = true;
    archive_write_close(archive_.get());
  }
}

long TarSink::write_callback(archive*, void* opaque, const void* buffer, size_t size) {
  auto* self = static_cast<TarSink*>(opaque);
  if (self->discard_) return static_cast<long>(size);
  try {
    self->out_.write(buffer, size);
    return static_cast<long>(size);
  } catch (const Error& e) {
    // libarchive is C: record the error, which the caller throws as soon as
    // libarchive returns. Reporting success keeps libarchive out of its
    // FATAL state, in which it never frees its client-filter state (a leak
    // under LeakSanitizer); nothing more reaches the output.
    self->error_ = e.what();
    self->discard_ = true;
    return static_cast<long>(size);
  }
}

void TarSink::check_output() {
  if (!error_.empty()) throw Error(Exit::io, error_);
}

void TarSink::fail_from_archive() {
  if (!error_.empty()) throw Error(Exit::io, error_);
  const char* why = archive_error_string(archive_.get());
  fail(Exit::software, "cannot write tar entry", current_ + " (" + (why ? why : "unknown error") + ")");
}

void TarSink::write_header(const std::string& name, uint64_t size, bool directory) {
  std::unique_ptr<archive_entry, EntryDeleter> entry(archive_entry_new());
  archive_entry_set_pathname(entry.get(), name.c_str());
  archive_entry_set_filetype(entry.get(), directory ? AE_IFDIR : AE_IFREG);
  archive_entry_set_perm(entry.get(), directory ? 0755 : 0644);
  archive_entry_set_size(entry.get(), static_cast<la_int64_t>(size));
  archive_entry_set_uid(entry.get(), 0);
  archive_entry_set_gid(entry.get(), 0);
  archive_entry_set_mtime(entry.get(), mtime_, 0);
  current_ = name;
  check_output();
  if (archive_write_header(archive_.get(), entry.get()) != ARCHIVE_OK) fail_from_archive();
  check_output();
  remaining_ = size;
}

void TarSink::begin_blob(const Digest& digest, uint64_t size) {
  for (std::string dir : {std::string("blobs/"), "blobs/" + std::string(alg_name(digest.alg)) + "/"})
    if (directories_.insert(dir).second) write_header(dir, 0, true);
  write_header(digest.blob_path(), size, false);
}

void TarSink::begin_extra(const std::string& name, uint64_t size) { write_header(name, size, false); }

void TarSink::write(const void* data, size_t size) {
  if (size > remaining_) fail(Exit::software, "entry longer than its header says", current_);
  auto* p = static_cast<const char*>(data);
  while (size > 0) {
    // libarchive takes at most INT_MAX bytes per call and may take fewer.
    la_ssize_t n = archive_write_data(archive_.get(), p, std::min<size_t>(size, INT_MAX));
    if (n <= 0) fail_from_archive();
    check_output();
    p += n;
    size -= static_cast<size_t>(n);
    remaining_ -= static_cast<uint64_t>(n);
  }
}

void TarSink::end() {
  if (remaining_ != 0) fail(Exit::software, "entry shorter than its header says", current_);
  if (archive_write_finish_entry(archive_.get()) != ARCHIVE_OK) fail_from_archive();
  check_output();
}

void TarSink::commit(std::string_view index_json) {
  put_extra("index.json", index_json);
  if (archive_write_close(archive_.get()) != ARCHIVE_OK) fail_from_archive();
  check_output();
  committed_ = true;
}

}  // namespace olot
