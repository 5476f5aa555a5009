#include "olot/classify.h"

#include <vector>

#include "olot/error.h"

namespace olot {

namespace {

[[noreturn]] void refuse(const std::string& what, const EntryHeader& h) { fail(Exit::data, what, h.path); }

std::vector<std::string_view> components(std::string_view name) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= name.size()) {
    size_t slash = name.find('/', start);
    if (slash == std::string_view::npos) slash = name.size();
    auto part = name.substr(start, slash - start);
    if (!part.empty() && part != ".") parts.push_back(part);
    start = slash + 1;
  }
  return parts;
}

ClassifiedEntry classify_blob(const EntryHeader& h, const std::vector<std::string_view>& parts, std::string name) {
  if (parts.size() != 3) refuse("unexpected name under blobs/ (want blobs/<algorithm>/<hex>)", h);
  auto alg = alg_from_name(parts[1]);
  if (!alg) refuse("unsupported digest algorithm in blob name (sha256 and sha512 are supported)", h);
  auto digest = Digest::parse(std::string(parts[1]) + ":" + std::string(parts[2]));
  if (!digest)
    refuse("malformed blob name (want " + std::to_string(hex_length(*alg)) + " lowercase hex digits)", h);
  return {EntryRole::blob, std::move(name), *digest};
}

}  // namespace

std::string normalise_entry_name(std::string_view name) {
  std::string out;
  for (auto part : components(name)) {
    if (!out.empty()) out += '/';
    out += part;
  }
  return out;
}

ClassifiedEntry classify_entry(const EntryHeader& h) {
  if (h.path.empty()) refuse("entry without a name", h);
  if (h.path.front() == '/') refuse("absolute entry name", h);
  auto parts = components(h.path);
  for (auto part : parts)
    if (part == "..") refuse("entry name with '..'", h);
  switch (h.type) {
    case EntryType::symlink: refuse("symbolic link in the layout (not allowed)", h);
    case EntryType::hardlink: refuse("hard link in the layout (not allowed)", h);
    case EntryType::device: refuse("device entry in the layout (not allowed)", h);
    case EntryType::fifo: refuse("fifo entry in the layout (not allowed)", h);
    case EntryType::other: refuse("unsupported entry type in the layout", h);
    case EntryType::directory: return {EntryRole::skip, normalise_entry_name(h.path), {}};
    case EntryType::file: break;
  }
  std::string name = normalise_entry_name(h.path);
  if (name.empty()) refuse("file entry without a name", h);
  if (parts.front() == "blobs") return classify_blob(h, parts, std::move(name));
  if (name == "oci-layout") return {EntryRole::oci_layout, std::move(name), {}};
  if (name == "index.json") return {EntryRole::index, std::move(name), {}};
  return {EntryRole::root_extra, std::move(name), {}};
}

}  // namespace olot
