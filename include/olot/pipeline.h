// The whole job, stage by stage: tar in -> entries classified -> blobs
// streamed or buffered -> graph -> rewrite in dependency order -> tar out.
#pragma once

#include "olot/options.h"

namespace olot {

// Runs the job; throws Error on failure. Nothing but the tar goes to stdout.
void run(const Options& options);

}  // namespace olot
