// The retailCRM poller (UPSTREAMS.md 3.8): per history method, `filter[sinceId]=<last id>` with
// the configured `limit` until the vendor has nothing more, bootstrapped once from
// `filter[startDate]` when a start is configured; never `page`, never startDate with sinceId.
#pragma once

#include "sources/source.hpp"

#include <memory>

namespace changefeed::sources::retailcrm {

std::unique_ptr<source> make_retailcrm_source(source_context& ctx);

}  // namespace changefeed::sources::retailcrm
