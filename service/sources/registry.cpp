#include "sources/registry.hpp"

#include "sources/pennylane/pennylane_spec.hpp"
#include "sources/precoro/precoro_spec.hpp"
#include "sources/retailcrm/retailcrm_spec.hpp"
#include "sources/saleschannel/saleschannel_spec.hpp"
#include "sources/struct/struct_spec.hpp"

namespace changefeed::sources {

const std::vector<kind_spec>& known_kinds() {
    static const std::vector<kind_spec> kinds{
        pennylane::pennylane_spec(), saleschannel::saleschannel_spec(), retailcrm::retailcrm_spec(),
        struct_pim::struct_spec(),   precoro::precoro_spec(),
    };
    return kinds;
}

const kind_spec* find_kind(std::string_view kind) {
    for (const auto& spec : known_kinds()) {
        if (spec.kind == kind) {
            return &spec;
        }
    }
    return nullptr;
}

}  // namespace changefeed::sources
