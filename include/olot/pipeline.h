// The whole job, stage by stage: tar in -> entries classified -> blobs
// streamed or buffered -> graph -> rewrite in dependency order -> tar out.
#pragma once

#include "olot/options.h"
#include "olot/sink.h"
#include "olot/tar_source.h"

namespace olot {

// Runs the job; throws Error on failure. Nothing but the tar goes to stdout.
void run(const Options& options);

// The job between an open source and a sink, up to and including commit;
// `now` stands in for the clock where no --mtime is given.
void convert_stream(const Options& options, TarSource& source, Sink& sink, int64_t now);

}  // namespace olot
