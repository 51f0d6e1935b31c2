// The Puro.earth sales-channel poller (UPSTREAMS.md 2.6): the event log read by keyset on
// createdAt, with a larger `$limit` and then a walk in id order when more rows share one
// createdAt than a page holds, and a periodic unfiltered sweep for rows whose createdAt is null.
#pragma once

#include "sources/source.hpp"

#include <memory>

namespace changefeed::sources::saleschannel {

std::unique_ptr<source> make_saleschannel_source(source_context& ctx);

}  // namespace changefeed::sources::saleschannel
