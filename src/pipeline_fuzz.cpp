// libFuzzer target: arbitrary bytes through the whole job (SPEC §3, §8, §9).
//
// An olot::Error is a correct outcome for any input. Anything else is a
// finding: a crash, a sanitizer report, another exception, a hang — and,
// because a wrong but well-formed output is the worst outcome, an output
// that fails the checks below after a successful run.
//
// Two input modes:
//   * raw: the bytes are the input stream (a tar, maybe compressed).
//   * "OLOTDOCS" + flags byte + documents separated by "\n--\n": the harness
//     builds the layout tar itself, with correct digests, so the fuzzer can
//     reach the graph and rewrite stages (a mutated blob in a raw tar almost
//     never matches its name). In document k, "@Dj" becomes "sha256:<hex of
//     document j>" and "@Sj" its size, for j < k (single digit). The last
//     document is index.json, the others are blobs. Flags: bit 0 puts
//     index.json first, bit 1 adds directory entries and "./" prefixes,
//     bit 2 leaves out oci-layout, bit 3 leaves out the end-of-archive blocks.
//
// Checks on a successful run's output: it is a tar that olot-filter itself
// reads; oci-layout comes first and index.json last; no duplicate names, no
// "./"; every blob's bytes match its name; and a second run over the output
// with the same options succeeds and gives the same index.json and the same
// set of blobs (re-running is idempotent, SPEC §5.2, §6.4).
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "olot/digest.h"
#include "olot/error.h"
#include "olot/options.h"
#include "olot/pipeline.h"
#include "olot/tar_sink.h"
#include "olot/tar_source.h"

namespace {

// Large enough for any fuzz input; a decompression or sparse-file bomb is
// stopped here with an Error, which counts as a correct outcome.
constexpr size_t output_budget = 64 << 20;

class MemorySink final : public olot::ByteSink {
 public:
  void write(const void* data, size_t size) override {
    if (bytes.size() + size > output_budget) throw olot::Error(olot::Exit::io, "fuzz: output budget exceeded");
    bytes.append(static_cast<const char*>(data), size);
  }
  using olot::ByteSink::write;
  std::string bytes;
};

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "pipeline_fuzz: FINDING: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

const olot::Options& fuzz_options() {
  static const olot::Options options = [] {
    olot::Options o;
    o.verbosity = -2;
    o.mtime = 1700000000;
    // Small, so both the buffered and the streamed path and the 32x cap are
    // reachable with inputs of a few KiB.
    o.max_json_size = 4096;
    o.labels = {{"fuzz.label", "1"}};
    o.annotations = {{"fuzz.annotation", "1"}};
    char dir_template[] = "/tmp/olot-fuzz-model.XXXXXX";
    if (!::mkdtemp(dir_template)) finding("cannot create the model directory");
    std::filesystem::path model = std::filesystem::path(dir_template) / "weights.bin";
    if (FILE* f = std::fopen(model.c_str(), "wb")) {
      std::fputs("tiny model\n", f);
      std::fclose(f);
    } else {
      finding("cannot create the model file");
    }
    o.model.paths = {model};
    return o;
  }();
  return options;
}

// A memfd holding `bytes`, positioned at 0.
class MemFile {
 public:
  explicit MemFile(std::string_view bytes) {
    fd_ = ::memfd_create("olot-fuzz", MFD_CLOEXEC);
    if (fd_ < 0) finding("memfd_create failed");
    for (size_t off = 0; off < bytes.size();) {
      ssize_t n = ::write(fd_, bytes.data() + off, bytes.size() - off);
      if (n <= 0) finding("memfd write failed");
      off += static_cast<size_t>(n);
    }
    ::lseek(fd_, 0, SEEK_SET);
  }
  ~MemFile() { ::close(fd_); }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

struct JobResult {
  bool ok = false;
  std::string output;  // the output tar when ok
  std::string error;   // the Error's message otherwise
};

// Runs the job on `input`. An olot::Error is an outcome; anything else is a finding.
JobResult run_job(std::string_view input) {
  MemFile file(input);
  MemorySink out;
  JobResult result;
  try {
    olot::TarSource source(file.fd(), "fuzz-input");
    olot::TarSink sink(out, *fuzz_options().mtime);
    olot::convert_stream(fuzz_options(), source, sink, 1700000000);
    result.ok = true;
    result.output = std::move(out.bytes);
  } catch (const olot::Error& e) {
    result.error = e.what();
    if (result.error.empty()) finding("Error without a message");
  } catch (const std::exception& e) {
    finding(std::string("exception other than olot::Error: ") + typeid(e).name() + ": " + e.what());
  } catch (...) {
    finding("non-standard exception");
  }
  return result;
}

struct Listing {
  std::vector<std::string> names;
  std::map<std::string, std::string> blobs;  // name -> bytes
  std::string index_json;
};

// Reads an output tar back; any problem is a finding.
Listing read_output(const std::string& tar) {
  MemFile file(tar);
  Listing out;
  try {
    olot::TarSource source(file.fd(), "fuzz-output");
    olot::EntryHeader h;
    while (source.next(h)) {
      std::string bytes;
      for (auto b = source.read(); !b.empty(); b = source.read()) bytes.append(reinterpret_cast<const char*>(b.data()), b.size());
      if (h.path.starts_with("./") || h.path.starts_with("/")) finding("output name not normalised: " + h.path);
      for (const auto& n : out.names)
        if (n == h.path) finding("duplicate name in output: " + h.path);
      out.names.push_back(h.path);
      if (h.type == olot::EntryType::directory) continue;
      if (h.type != olot::EntryType::file) finding("output entry neither file nor directory: " + h.path);
      if (bytes.size() != h.size) finding("output entry size differs from its header: " + h.path);
      if (h.path.starts_with("blobs/")) {
        std::string_view rest = std::string_view(h.path).substr(6);
        auto slash = rest.find('/');
        auto digest = slash == rest.npos ? std::nullopt
                                         : olot::Digest::parse(std::string(rest.substr(0, slash)) + ":" +
                                                               std::string(rest.substr(slash + 1)));
        if (!digest) finding("output blob with a malformed name: " + h.path);
        if (olot::digest_of(bytes, digest->alg) != *digest) finding("output blob does not match its name: " + h.path);
        out.blobs[h.path] = std::move(bytes);
      } else if (h.path == "index.json") {
        out.index_json = std::move(bytes);
      }
    }
    if (source.missing_end_marker()) finding("output has no end-of-archive blocks");
  } catch (const olot::Error& e) {
    finding(std::string("output tar cannot be read back: ") + e.what());
  }
  if (out.names.empty() || out.names.front() != "oci-layout") finding("output does not start with oci-layout");
  if (out.names.back() != "index.json") finding("output does not end with index.json");
  return out;
}

void check_output(const std::string& first) {
  Listing a = read_output(first);
  JobResult again = run_job(first);
  if (!again.ok) finding("second run over the output failed: " + again.error);
  Listing b = read_output(again.output);
  if (a.index_json != b.index_json) finding("second run changed index.json:\n" + a.index_json + "\n" + b.index_json);
  for (const auto& [name, bytes] : a.blobs)
    if (!b.blobs.count(name)) finding("second run lost " + name);
  for (const auto& [name, bytes] : b.blobs)
    if (!a.blobs.count(name)) finding("second run added " + name + ":\n" + bytes.substr(0, 2000));
}

// ---- the structured mode ----------------------------------------------------

constexpr std::string_view docs_magic = "OLOTDOCS";

void put_octal(char* field, size_t width, uint64_t value) {
  std::snprintf(field, width, "%0*llo", static_cast<int>(width - 1), static_cast<unsigned long long>(value));
}

void tar_entry(std::string& tar, const std::string& name, std::string_view data, char type = '0') {
  char h[512] = {};
  std::memcpy(h, name.data(), std::min<size_t>(name.size(), 100));
  put_octal(h + 100, 8, type == '5' ? 0755 : 0644);
  put_octal(h + 108, 8, 0);
  put_octal(h + 116, 8, 0);
  put_octal(h + 124, 12, data.size());
  put_octal(h + 136, 12, 0);
  h[156] = type;
  std::memcpy(h + 257, "ustar", 6);
  std::memcpy(h + 263, "00", 2);
  std::memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(h + 148, 8, "%06o", sum);
  tar.append(h, 512);
  tar.append(data);
  tar.append((512 - data.size() % 512) % 512, '\0');
}

std::string build_layout(std::string_view spec) {
  unsigned flags = spec.empty() ? 0 : static_cast<unsigned char>(spec.front());
  if (!spec.empty()) spec.remove_prefix(1);
  std::vector<std::string> docs;
  constexpr std::string_view sep = "\n--\n";
  while (docs.size() < 64) {
    auto at = spec.find(sep);
    docs.emplace_back(spec.substr(0, at));
    if (at == spec.npos) break;
    spec.remove_prefix(at + sep.size());
  }
  std::vector<olot::Digest> digests;
  for (size_t k = 0; k < docs.size(); ++k) {
    std::string& d = docs[k];
    std::string out;
    for (size_t i = 0; i < d.size(); ++i) {
      if (d[i] == '@' && i + 2 < d.size() && (d[i + 1] == 'D' || d[i + 1] == 'S') && d[i + 2] >= '0' &&
          d[i + 2] <= '9' && static_cast<size_t>(d[i + 2] - '0') < k) {
        size_t j = static_cast<size_t>(d[i + 2] - '0');
        out += d[i + 1] == 'D' ? digests[j].str() : std::to_string(docs[j].size());
        i += 2;
      } else {
        out += d[i];
      }
    }
    d = std::move(out);
    digests.push_back(olot::digest_of(d));
  }
  bool index_first = flags & 1, dirs = flags & 2, no_layout = flags & 4, no_end = flags & 8;
  std::string prefix = dirs ? "./" : "";
  std::string tar;
  auto index = [&] { tar_entry(tar, prefix + "index.json", docs.back()); };
  if (index_first) index();
  if (dirs) {
    tar_entry(tar, prefix + "blobs/", "", '5');
    tar_entry(tar, prefix + "blobs/sha256/", "", '5');
  }
  for (size_t k = 0; k + 1 < docs.size(); ++k) {
    bool seen = false;
    for (size_t j = 0; j < k; ++j) seen = seen || digests[j] == digests[k];
    if (!seen) tar_entry(tar, prefix + digests[k].blob_path(), docs[k]);
  }
  if (!no_layout) tar_entry(tar, prefix + "oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  if (!index_first) index();
  if (!no_end) tar.append(1024, '\0');
  return tar;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string built;
  if (input.starts_with(docs_magic)) {
    built = build_layout(input.substr(docs_magic.size()));
    input = built;
  }
  JobResult result = run_job(input);
  if (result.ok) check_output(result.output);
  return 0;
}
