// Stage 2, entries classified: what an input entry is in an OCI layout, by
// its name and type alone, and every refusal that can be decided there
// (SPEC §3).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "olot/digest.h"
#include "olot/tar_source.h"

namespace olot {

enum class EntryRole {
  skip,         // directories: the output gets its own
  oci_layout,   // "oci-layout"
  index,        // "index.json"
  blob,         // "blobs/<alg>/<hex>"
  root_extra,   // any other file (docker save's manifest.json, repositories, ...)
};

struct ClassifiedEntry {
  EntryRole role = EntryRole::skip;
  std::string name;  // normalised: no leading "./"
  Digest digest;     // for blobs
};

// Throws Error(Exit::data) naming the entry for absolute names, "..",
// symlinks, hardlinks, devices and malformed blob names.
ClassifiedEntry classify_entry(const EntryHeader& header);

// "./a/./b" -> "a/b"; an empty result is the layout root.
std::string normalise_entry_name(std::string_view name);

}  // namespace olot
