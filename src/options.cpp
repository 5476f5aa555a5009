#include "olot/options.h"

#include <boost/program_options.hpp>
#include <charconv>
#include <sstream>

#include "olot/error.h"

namespace po = boost::program_options;

namespace olot {

std::string Platform::str() const {
  return os + "/" + architecture + (variant.empty() ? "" : "/" + variant);
}

namespace {

po::options_description describe_options() {
  po::options_description d("Options");
  // clang-format off
  d.add_options()
    ("model,m", po::value<std::vector<std::string>>()->composing(), "model file or directory to add (repeatable; bare arguments mean the same)")
    ("modelcard,c", po::value<std::string>(), "add FILE as the last, gzip-compressed layer, marked as the ModelCarD")
    ("prefix", po::value<std::string>()->default_value("/models"), "directory inside the image")
    ("exclude", po::value<std::vector<std::string>>()->composing(), "skip model paths matching GLOB (repeatable)")
    ("include-vcs", po::bool_switch(), "keep .git/ directories (skipped by default)")
    ("pack-small", po::value<std::string>(), "put model files smaller than BYTES into one shared layer")
    ("label", po::value<std::vector<std::string>>()->composing(), "K=V: add a config label to every modified image (repeatable)")
    ("annotation", po::value<std::vector<std::string>>()->composing(), "K=V: add a manifest annotation to every modified image (repeatable)")
    ("add-modelpack", po::bool_switch(), "also add a ModelPack manifest to each modified image index")
    ("ref", po::value<std::vector<std::string>>()->composing(), "modify only root entries with this ref name (repeatable)")
    ("platform", po::value<std::vector<std::string>>()->composing(), "OS/ARCH[/VARIANT]: keep only these platforms (repeatable)")
    ("tag", po::value<std::string>(), "set the ref name of the modified root entries")
    ("mtime", po::value<std::string>(), "EPOCH: timestamp for new entries; later file mtimes are clamped to it (default: $SOURCE_DATE_EPOCH)")
    ("compression", po::value<std::string>()->default_value("none"), "none|gzip|zstd: compression of model layers")
    ("no-convert", po::bool_switch(), "fail (exit 65) instead of converting Docker media types")
    ("no-verify", po::bool_switch(), "skip SHA-256 verification of passed-through blobs")
    ("allow-missing-blobs", po::bool_switch(), "accept referenced layer blobs absent from the input")
    ("max-json-size", po::value<std::string>(), "BYTES: largest blob buffered as JSON (default 16777216)")
    ("input,i", po::value<std::string>()->default_value("-"), "read the layout tar from FILE (- = stdin)")
    ("output,o", po::value<std::string>()->default_value("-"), "write the result to FILE (- = stdout), atomically")
    ("digest-file", po::value<std::string>(), "write the new digest of each modified root entry to FILE")
    ("report", po::value<std::string>(), "write a JSON report to FILE")
    ("cache", po::value<std::string>(), "DIR: digest cache for model files")
    ("dry-run", po::bool_switch(), "read the whole input, print the plan on stderr, write nothing")
    ("progress", po::bool_switch(), "show progress on stderr")
    ("no-progress", po::bool_switch(), "never show progress")
    ("verbose,v", po::bool_switch(), "say more on stderr")
    ("quiet,q", po::bool_switch(), "say only errors and warnings on stderr")
    ("help,h", po::bool_switch(), "show this help")
    ("version,V", po::bool_switch(), "show the version");
  // clang-format on
  return d;
}

[[noreturn]] void usage_error(const std::string& what) {
  throw Error(Exit::usage, what + " (see olot-filter --help)");
}

uint64_t parse_bytes(const std::string& option, const std::string& text) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty())
    usage_error("--" + option + " takes a whole number of bytes: " + text);
  return value;
}

int64_t parse_epoch(const std::string& where, const std::string& text) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() || value < 0)
    usage_error(where + " takes seconds since 1970: " + text);
  return value;
}

std::pair<std::string, std::string> parse_key_value(const std::string& option, const std::string& text) {
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) usage_error("--" + option + " takes K=V: " + text);
  return {text.substr(0, eq), text.substr(eq + 1)};
}

Platform parse_platform(const std::string& text) {
  Platform p;
  std::stringstream in(text);
  std::getline(in, p.os, '/');
  std::getline(in, p.architecture, '/');
  std::getline(in, p.variant, '/');
  std::string rest;
  if (p.os.empty() || p.architecture.empty() || std::getline(in, rest))
    usage_error("--platform takes OS/ARCH[/VARIANT]: " + text);
  return p;
}

Compression parse_compression(const std::string& text) {
  if (text == "none") return Compression::none;
  if (text == "gzip") return Compression::gzip;
  if (text == "zstd") return Compression::zstd;
  usage_error("--compression takes none, gzip or zstd: " + text);
}

template <typename T>
std::vector<T> all(const po::variables_map& vm, const char* name) {
  return vm.count(name) ? vm[name].as<std::vector<T>>() : std::vector<T>{};
}

}  // namespace

std::string help_text() {
  std::ostringstream out;
  out << "usage: olot-filter [OPTIONS] [MODEL_PATH...] < layout.tar > modelcar.tar\n\n"
         "Reads an OCI image-layout tar, converts Docker media types to OCI, adds the\n"
         "model files as new layers under /models (KServe ModelCar) and writes the new\n"
         "layout tar. Nothing of the image is written to disk.\n\n"
      << describe_options()
      << "\nExit status: 0 ok, 64 usage, 65 bad input data, 66 model path missing or\n"
         "unreadable, 70 internal error, 73 cannot create output, 74 I/O error,\n"
         "130/143 interrupted. See olot-filter(1).\n";
  return out.str();
}

Options parse_options(int argc, const char* const* argv, const char* environment_epoch) {
  po::options_description visible = describe_options();
  po::options_description all_options;
  all_options.add(visible).add_options()("paths", po::value<std::vector<std::string>>()->composing());
  po::positional_options_description positional;
  positional.add("paths", -1);

  po::variables_map vm;
  po::parsed_options parsed(&all_options);
  try {
    parsed = po::command_line_parser(argc, argv).options(all_options).positional(positional).run();
    po::store(parsed, vm);
    po::notify(vm);
  } catch (const po::error& e) {
    usage_error(e.what());
  }

  Options o;
  if (vm["help"].as<bool>()) {
    o.print_and_exit = help_text();
    return o;
  }
  if (vm["version"].as<bool>()) {
    o.print_and_exit = std::string("olot-filter ") + OLOT_VERSION + "\n";
    return o;
  }

  // -m and bare paths interleave: the layers follow the command line.
  for (const po::option& opt : parsed.options)
    if (opt.string_key == "model" || opt.string_key == "paths")
      for (const auto& p : opt.value) o.model.paths.emplace_back(p);
  if (vm.count("modelcard")) o.model.modelcard = vm["modelcard"].as<std::string>();
  o.model.prefix = vm["prefix"].as<std::string>();
  o.model.excludes = all<std::string>(vm, "exclude");
  o.model.include_vcs = vm["include-vcs"].as<bool>();
  if (vm.count("pack-small")) o.pack_small = parse_bytes("pack-small", vm["pack-small"].as<std::string>());
  for (const auto& kv : all<std::string>(vm, "label")) o.labels.push_back(parse_key_value("label", kv));
  for (const auto& kv : all<std::string>(vm, "annotation"))
    o.annotations.push_back(parse_key_value("annotation", kv));
  o.add_modelpack = vm["add-modelpack"].as<bool>();
  o.refs = all<std::string>(vm, "ref");
  for (const auto& p : all<std::string>(vm, "platform")) o.platforms.push_back(parse_platform(p));
  if (vm.count("tag")) o.tag = vm["tag"].as<std::string>();
  if (vm.count("mtime"))
    o.mtime = parse_epoch("--mtime", vm["mtime"].as<std::string>());
  else if (environment_epoch && *environment_epoch)
    o.mtime = parse_epoch("SOURCE_DATE_EPOCH", environment_epoch);
  o.compression = parse_compression(vm["compression"].as<std::string>());
  o.no_convert = vm["no-convert"].as<bool>();
  o.no_verify = vm["no-verify"].as<bool>();
  o.allow_missing_blobs = vm["allow-missing-blobs"].as<bool>();
  if (vm.count("max-json-size")) {
    o.max_json_size = parse_bytes("max-json-size", vm["max-json-size"].as<std::string>());
    if (o.max_json_size == 0) usage_error("--max-json-size must be at least 1");
  }
  o.input = vm["input"].as<std::string>();
  o.output = vm["output"].as<std::string>();
  if (vm.count("digest-file")) o.digest_file = vm["digest-file"].as<std::string>();
  if (vm.count("report")) o.report = vm["report"].as<std::string>();
  if (vm.count("cache")) o.cache = vm["cache"].as<std::string>();
  o.dry_run = vm["dry-run"].as<bool>();
  if (vm["progress"].as<bool>() && vm["no-progress"].as<bool>())
    usage_error("--progress and --no-progress exclude each other");
  if (vm["progress"].as<bool>()) o.progress = true;
  if (vm["no-progress"].as<bool>()) o.progress = false;
  if (vm["verbose"].as<bool>() && vm["quiet"].as<bool>()) usage_error("--verbose and --quiet exclude each other");
  o.verbosity = vm["verbose"].as<bool>() ? 1 : vm["quiet"].as<bool>() ? -1 : 0;
  if (o.tag && o.tag->empty()) usage_error("--tag needs a name");
  return o;
}

}  // namespace olot
