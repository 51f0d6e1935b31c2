// The Precoro source (UPSTREAMS.md 5.9): webhook deliveries drained from the work queue first
// (one detail fetch per queued entity), then modifiedSince sweeps of every configured resource
// each poll_interval, all within a request budget persisted in PostgreSQL.
#pragma once

#include "sources/source.hpp"

#include <memory>

namespace changefeed::sources::precoro {

std::unique_ptr<source> make_precoro_source(source_context& ctx);

}  // namespace changefeed::sources::precoro
