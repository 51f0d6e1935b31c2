// The Pennylane poller (UPSTREAMS.md 1.9): per resource, the changelog walked by cursor from a
// watermark, hydration of changed ids in `in`-filter chunks, and a resync through the list
// endpoints when the changelog no longer reaches back far enough.
#pragma once

#include "sources/source.hpp"

#include <memory>

namespace changefeed::sources::pennylane {

std::unique_ptr<source> make_pennylane_source(source_context& ctx);

}  // namespace changefeed::sources::pennylane
