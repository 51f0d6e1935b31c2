// The Struct PIM poller (UPSTREAMS.md 4.8): transactions searched by CommitTimestamp from the
// watermark minus an overlap, page by page; the changed entities of the new ones in batches of
// at most 5000 uids; with field_diffs, their changed data types and field values.
#pragma once

#include "sources/source.hpp"

#include <memory>

namespace changefeed::sources::struct_pim {

std::unique_ptr<source> make_struct_source(source_context& ctx);

}  // namespace changefeed::sources::struct_pim
