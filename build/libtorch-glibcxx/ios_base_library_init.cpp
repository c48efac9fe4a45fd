// GCC 13 emits calls to std::ios_base_library_init() (GLIBCXX_3.4.32) from every translation unit that
// includes <iostream>; GCC 12's libstdc++ lacks it. Constructing an ios_base::Init is what it does.
#include <ios>
namespace std { void ios_base_library_init() { static ios_base::Init init; } }
