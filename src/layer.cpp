#include "olot/layer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <set>

#include "olot/error.h"

namespace olot {

// ---- tar header encoding ----

namespace {

// Field offsets and widths of the (GNU) tar header block.
struct Field {
  size_t offset;
  size_t width;
};
constexpr Field name_field{0, 100};
constexpr Field mode_field{100, 8};
constexpr Field uid_field{108, 8};
constexpr Field gid_field{116, 8};
constexpr Field size_field{124, 12};
constexpr Field mtime_field{136, 12};
constexpr Field checksum_field{148, 8};
constexpr size_t typeflag_offset = 156;
constexpr Field magic_field{257, 8};  // GNU: "ustar " magic and " \0" version in one

constexpr std::string_view gnu_magic{"ustar  \0", 8};
constexpr std::string_view long_link_name = "././@LongLink";
constexpr uint32_t long_link_mode = 0644;  // what GNU tar writes (byte-identical with --numeric-owner)
constexpr uint32_t directory_mode = 0775;  // olot's modes, SPEC §6.2
constexpr uint32_t file_mode = 0664;
constexpr size_t max_name_length = name_field.width;

// Octal, zero-padded to width-1 digits and NUL-terminated, as GNU tar does;
// values that do not fit go to GNU base-256 (0x80, then big-endian bytes).
void encode_number(uint64_t value, unsigned char* field, size_t width) {
  const size_t digits = width - 1;
  if (digits * 3 >= 64 || value < (uint64_t{1} << (digits * 3))) {
    for (size_t i = digits; i-- > 0; value >>= 3) field[i] = static_cast<unsigned char>('0' + (value & 7));
    field[digits] = '\0';
    return;
  }
  std::fill(field, field + width, 0);
  field[0] = 0x80;
  for (size_t i = width; i-- > 1 && value != 0; value >>= 8) field[i] = static_cast<unsigned char>(value & 0xff);
}

void encode_number(uint64_t value, TarBlock& block, Field field) {
  encode_number(value, block.data() + field.offset, field.width);
}

void copy_text(std::string_view text, TarBlock& block, Field field) {
  std::copy_n(text.begin(), std::min(text.size(), field.width), block.begin() + field.offset);
}

// The checksum is computed with its own field as spaces, then written as six
// octal digits, NUL and the space left over.
void encode_checksum(TarBlock& block) {
  std::fill_n(block.begin() + checksum_field.offset, checksum_field.width, ' ');
  unsigned sum = 0;
  for (unsigned char byte : block) sum += byte;
  encode_number(sum, block.data() + checksum_field.offset, checksum_field.width - 1);
}

uint64_t padding_for(uint64_t size) { return (tar_block_size - size % tar_block_size) % tar_block_size; }

uint64_t padded(uint64_t size) { return size + padding_for(size); }

std::string long_name_record(std::string_view name) {
  const uint64_t data_size = name.size() + 1;  // GNU counts the trailing NUL
  TarBlock header = encode_tar_header({long_link_name, 'L', long_link_mode, data_size, 0});
  std::string record(reinterpret_cast<const char*>(header.data()), header.size());
  record += name;
  record.append(padded(data_size) - name.size(), '\0');
  return record;
}

uint64_t entry_headers_size(size_t name_length) {
  uint64_t size = tar_block_size;
  if (name_length > max_name_length) size += tar_block_size + padded(name_length + 1);
  return size;
}

}  // namespace

std::array<unsigned char, 12> encode_size_field(uint64_t size) {
  std::array<unsigned char, 12> field{};
  encode_number(size, field.data(), field.size());
  return field;
}

TarBlock encode_tar_header(const TarHeaderFields& fields) {
  TarBlock block{};
  copy_text(fields.name, block, name_field);
  encode_number(fields.mode, block, mode_field);
  encode_number(0, block, uid_field);
  encode_number(0, block, gid_field);
  encode_number(fields.size, block, size_field);
  // Times before 1970 would need base-256 negatives; a layer has no use for them.
  encode_number(static_cast<uint64_t>(std::max<int64_t>(fields.mtime, 0)), block, mtime_field);
  block[typeflag_offset] = static_cast<unsigned char>(fields.typeflag);
  copy_text(gnu_magic, block, magic_field);
  encode_checksum(block);
  return block;
}

std::string encode_entry_headers(const TarHeaderFields& fields) {
  std::string headers;
  if (fields.name.size() > max_name_length) headers = long_name_record(fields.name);
  TarBlock header = encode_tar_header(fields);
  headers.append(reinterpret_cast<const char*>(header.data()), header.size());
  return headers;
}

// ---- layer tar ----

namespace {

constexpr size_t read_chunk_size = 1 << 20;

[[noreturn]] void fail_changed(const std::filesystem::path& path) {
  fail(Exit::data, "model file changed while reading", path.string());
}

[[noreturn]] void fail_unreadable(const std::filesystem::path& path, int err) {
  fail(Exit::no_input, "cannot read model file", path.string() + " (" + std::strerror(err) + ")");
}

class InputFile {
 public:
  explicit InputFile(const std::filesystem::path& path) : path_(path) {
    // O_NONBLOCK: if the file was swapped for a fifo since it was planned,
    // fstat below reports it instead of open() hanging.
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd_ < 0) fail_unreadable(path, errno);
  }
  ~InputFile() { ::close(fd_); }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  // Catches most changes before a single byte is written.
  void require_regular_file_of_size(uint64_t size) const {
    struct stat st;
    if (::fstat(fd_, &st) != 0) fail_unreadable(path_, errno);
    if (!S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) != size) fail_changed(path_);
    ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
  }

  // Fills `size` bytes unless the file ends first: chunk boundaries then do
  // not depend on how the kernel splits reads.
  size_t read_fully(unsigned char* buffer, size_t size) {
    size_t done = 0;
    while (done < size) {
      ssize_t got = ::read(fd_, buffer + done, size - done);
      if (got == 0) break;
      if (got < 0) {
        if (errno == EINTR) continue;
        fail_unreadable(path_, errno);
      }
      done += static_cast<size_t>(got);
    }
    return done;
  }

 private:
  std::filesystem::path path_;
  int fd_;
};

class LayerTarWriter {
 public:
  LayerTarWriter(ByteSink& out, ContentObserver* observer)
      : out_(out), observer_(observer), buffer_(read_chunk_size) {}

  void write_file(size_t index, const LayerEntry& entry) {
    write_parent_directories(entry);
    out_.write(encode_entry_headers({entry.inlayer, '0', file_mode, entry.size, entry.mtime}));
    write_content(index, entry);
    write_padding(entry.size);
  }

  void write_end_of_archive() {
    static constexpr unsigned char zeros[2 * tar_block_size] = {};
    out_.write(zeros, sizeof zeros);
  }

 private:
  // "models/sub/w.bin" needs "models/" and "models/sub/" first, each once per
  // layer, dated like the file that introduced it.
  void write_parent_directories(const LayerEntry& entry) {
    for (size_t slash = entry.inlayer.find('/'); slash != std::string::npos;
         slash = entry.inlayer.find('/', slash + 1)) {
      std::string directory = entry.inlayer.substr(0, slash + 1);
      if (!emitted_directories_.insert(directory).second) continue;
      out_.write(encode_entry_headers({directory, '5', directory_mode, 0, entry.mtime}));
    }
  }

  void write_content(size_t index, const LayerEntry& entry) {
    InputFile file(entry.source);
    file.require_regular_file_of_size(entry.size);
    if (observer_) observer_->begin_file(index);
    for (uint64_t remaining = entry.size; remaining > 0;) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(remaining, buffer_.size()));
      size_t got = file.read_fully(buffer_.data(), want);
      if (got != want) fail_changed(entry.source);
      if (observer_) observer_->content(buffer_.data(), got);
      out_.write(buffer_.data(), got);
      remaining -= got;
    }
    // A file that grew after fstat still has bytes left: its layer would not
    // match what the hashing pass saw.
    if (file.read_fully(buffer_.data(), 1) != 0) fail_changed(entry.source);
    if (observer_) observer_->end_file(index);
  }

  void write_padding(uint64_t size) {
    static constexpr unsigned char zeros[tar_block_size] = {};
    out_.write(zeros, padding_for(size));
  }

  ByteSink& out_;
  ContentObserver* observer_;
  std::vector<unsigned char> buffer_;
  std::set<std::string> emitted_directories_;
};

}  // namespace

void emit_layer_tar(const LayerSpec& spec, ByteSink& out, ContentObserver* observer) {
  LayerTarWriter writer(out, observer);
  for (size_t i = 0; i < spec.files.size(); ++i) writer.write_file(i, spec.files[i]);
  writer.write_end_of_archive();
}

uint64_t layer_tar_size(const LayerSpec& spec) {
  std::set<std::string> directories;
  uint64_t size = 0;
  for (const LayerEntry& entry : spec.files) {
    for (size_t slash = entry.inlayer.find('/'); slash != std::string::npos;
         slash = entry.inlayer.find('/', slash + 1))
      if (directories.insert(entry.inlayer.substr(0, slash + 1)).second) size += entry_headers_size(slash + 1);
    size += entry_headers_size(entry.inlayer.size()) + padded(entry.size);
  }
  return size + 2 * tar_block_size;
}

std::string_view layer_media_type(Compression compression) {
  switch (compression) {
    case Compression::gzip: return "application/vnd.oci.image.layer.v1.tar+gzip";
    case Compression::zstd: return "application/vnd.oci.image.layer.v1.tar+zstd";
    case Compression::none: break;
  }
  return "application/vnd.oci.image.layer.v1.tar";
}

// ---- compression ----

class Compressor::Engine {
 public:
  virtual ~Engine() = default;
  virtual void compress(const unsigned char* data, size_t size, ByteSink& out) = 0;
  virtual void finish(ByteSink& out) = 0;

 protected:
  static constexpr size_t output_chunk_size = 128 * 1024;
};

namespace {

class GzipEngine final : public Compressor::Engine {
 public:
  GzipEngine() : output_(output_chunk_size) {
    static constexpr int level = 6;
    static constexpr int gzip_window_bits = 15 + 16;  // +16: gzip wrapper instead of zlib's
    static constexpr int mem_level = 8;
    if (deflateInit2(&stream_, level, Z_DEFLATED, gzip_window_bits, mem_level, Z_DEFAULT_STRATEGY) != Z_OK)
      throw Error(Exit::software, "cannot start gzip compression");
    // Without a header of our own zlib would write the build's OS code;
    // time 0 and no name keep the header a constant.
    header_.os = 255;
    if (deflateSetHeader(&stream_, &header_) != Z_OK) {
      deflateEnd(&stream_);
      throw Error(Exit::software, "cannot set the gzip header");
    }
  }
  ~GzipEngine() override { deflateEnd(&stream_); }
  GzipEngine(const GzipEngine&) = delete;
  GzipEngine& operator=(const GzipEngine&) = delete;

  void compress(const unsigned char* data, size_t size, ByteSink& out) override {
    // avail_in is 32 bits wide.
    static constexpr size_t max_step = size_t{1} << 30;
    while (size > 0) {
      size_t step = std::min(size, max_step);
      stream_.next_in = const_cast<unsigned char*>(data);
      stream_.avail_in = static_cast<uInt>(step);
      run(Z_NO_FLUSH, out);
      data += step;
      size -= step;
    }
  }

  void finish(ByteSink& out) override {
    stream_.next_in = nullptr;
    stream_.avail_in = 0;
    run(Z_FINISH, out);
  }

 private:
  // Until deflate leaves room in the output buffer it may hold more output.
  void run(int flush, ByteSink& out) {
    int status;
    do {
      stream_.next_out = output_.data();
      stream_.avail_out = static_cast<uInt>(output_.size());
      status = deflate(&stream_, flush);
      if (status == Z_STREAM_ERROR) throw Error(Exit::software, "gzip compression failed");
      out.write(output_.data(), output_.size() - stream_.avail_out);
    } while (stream_.avail_out == 0 || (flush == Z_FINISH && status != Z_STREAM_END));
  }

  z_stream stream_{};
  gz_header header_{};  // zlib keeps a pointer to it until the header is out
  std::vector<unsigned char> output_;
};

class ZstdEngine final : public Compressor::Engine {
 public:
  ZstdEngine() : context_(ZSTD_createCCtx(), ZSTD_freeCCtx), output_(output_chunk_size) {
    if (!context_) throw Error(Exit::software, "cannot start zstd compression");
    set(ZSTD_c_compressionLevel, 3);
    set(ZSTD_c_checksumFlag, 1);
    // A one-shot compressor would know the size and write it; streaming
    // cannot, so it is never written and both agree.
    set(ZSTD_c_contentSizeFlag, 0);
    set(ZSTD_c_nbWorkers, 0);
  }

  void compress(const unsigned char* data, size_t size, ByteSink& out) override {
    ZSTD_inBuffer input{data, size, 0};
    while (input.pos < input.size) step(input, ZSTD_e_continue, out);
  }

  void finish(ByteSink& out) override {
    ZSTD_inBuffer input{nullptr, 0, 0};
    while (step(input, ZSTD_e_end, out) != 0) {
    }
  }

 private:
  void set(ZSTD_cParameter parameter, int value) {
    if (ZSTD_isError(ZSTD_CCtx_setParameter(context_.get(), parameter, value)))
      throw Error(Exit::software, "cannot configure zstd compression");
  }

  // Returns what zstd still has to flush (0: done).
  size_t step(ZSTD_inBuffer& input, ZSTD_EndDirective directive, ByteSink& out) {
    ZSTD_outBuffer output{output_.data(), output_.size(), 0};
    size_t remaining = ZSTD_compressStream2(context_.get(), &output, &input, directive);
    if (ZSTD_isError(remaining))
      throw Error(Exit::software, std::string("zstd compression failed: ") + ZSTD_getErrorName(remaining));
    out.write(output_.data(), output.pos);
    return remaining;
  }

  std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> context_;
  std::vector<unsigned char> output_;
};

std::unique_ptr<Compressor::Engine> make_engine(Compression compression) {
  switch (compression) {
    case Compression::gzip: return std::make_unique<GzipEngine>();
    case Compression::zstd: return std::make_unique<ZstdEngine>();
    case Compression::none: break;
  }
  return nullptr;
}

}  // namespace

Compressor::Compressor(Compression compression, ByteSink& downstream)
    : downstream_(downstream), engine_(make_engine(compression)) {}

Compressor::~Compressor() = default;

void Compressor::write(const void* data, size_t size) {
  if (finished_) throw Error(Exit::software, "write to a finished compressor");
  if (size == 0) return;
  if (engine_)
    engine_->compress(static_cast<const unsigned char*>(data), size, downstream_);
  else
    downstream_.write(data, size);
}

void Compressor::finish() {
  if (finished_) throw Error(Exit::software, "compressor finished twice");
  finished_ = true;
  if (engine_) engine_->finish(downstream_);
}

}  // namespace olot
