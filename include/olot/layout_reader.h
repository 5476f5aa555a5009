// Stage 3, blobs streamed or buffered: one pass over the input layout. Small
// JSON-looking blobs are kept in memory for the graph; every other blob goes
// to the sink at once, in the order it came, while the verifier hashes it.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "olot/blob_table.h"
#include "olot/digest.h"
#include "olot/layer.h"
#include "olot/sink.h"
#include "olot/tar_source.h"
#include "olot/verifier.h"

namespace olot {


struct Inventory {
  BlobTable blobs;                          // every blob entry of the input
  std::map<Digest, std::string> documents;  // the buffered ones' bytes
  std::vector<Digest> buffered_order;       // input order of the buffered ones
  std::optional<std::string> index_json;
  std::map<std::string, std::string> docker_extras;  // manifest.json, repositories
  bool legacy_docker_archive = false;       // saw <id>/layer.tar
  // Warnings about the input, shown once it proved to be a layout (a
  // refused input gets its one error line and nothing else).
  std::vector<std::string> warnings;
};

class Progress;
class Warnings;

struct ReadOptions {
  uint64_t max_json_size = 16 << 20;
  bool verify = true;
  Progress* progress = nullptr;  // told of every entry and block read
};

// Reads the whole input; streamed blobs are written to `sink` as they come.
Inventory read_layout(TarSource& source, Sink& sink, BlobVerifier& verifier, const ReadOptions& options,
                      Warnings& warnings);

Compression sniff_compression(const unsigned char* head, size_t size);

}  // namespace olot
