// Marks one version requirement (e.g. GLIBCXX_3.4.32) of an ELF64 little-endian shared library as weak
// (VER_FLG_WEAK in its Vernaux entry), so the dynamic loader only warns when the system library lacks it.
// patchelf has no option for this. Usage: weaken_verneed FILE VERSION. Exit 0 when done or already weak.
#include <elf.h>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 3) { std::fprintf(stderr, "usage: %s FILE VERSION\n", argv[0]); return 2; }
    std::ifstream in(argv[1], std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.size() < sizeof(Elf64_Ehdr) || std::memcmp(bytes.data(), ELFMAG, SELFMAG) != 0 ||
        bytes[EI_CLASS] != ELFCLASS64 || bytes[EI_DATA] != ELFDATA2LSB) {
        std::fprintf(stderr, "%s: not an ELF64 little-endian file\n", argv[1]); return 1;
    }
    auto header = reinterpret_cast<Elf64_Ehdr*>(bytes.data());
    auto sections = reinterpret_cast<Elf64_Shdr*>(bytes.data() + header->e_shoff);
    for (int s = 0; s < header->e_shnum; ++s) {
        if (sections[s].sh_type != SHT_GNU_verneed) continue;
        const char* names = bytes.data() + sections[sections[s].sh_link].sh_offset;
        size_t needOffset = sections[s].sh_offset;
        for (;;) {
            auto need = reinterpret_cast<Elf64_Verneed*>(bytes.data() + needOffset);
            size_t auxOffset = needOffset + need->vn_aux;
            for (int a = 0; a < need->vn_cnt; ++a) {
                auto aux = reinterpret_cast<Elf64_Vernaux*>(bytes.data() + auxOffset);
                if (std::strcmp(names + aux->vna_name, argv[2]) == 0) {
                    if (!(aux->vna_flags & VER_FLG_WEAK)) {
                        aux->vna_flags |= VER_FLG_WEAK;
                        std::ofstream out(argv[1], std::ios::binary | std::ios::trunc);
                        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
                        if (!out) { std::fprintf(stderr, "%s: cannot write\n", argv[1]); return 1; }
                    }
                    return 0;
                }
                if (aux->vna_next == 0) break;
                auxOffset += aux->vna_next;
            }
            if (need->vn_next == 0) break;
            needOffset += need->vn_next;
        }
    }
    std::fprintf(stderr, "%s: no version requirement named %s\n", argv[1], argv[2]);
    return 1;
}
