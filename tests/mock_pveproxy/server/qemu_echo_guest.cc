#include "tests/mock_pveproxy/server/qemu_echo_guest.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

namespace pvb::mock {

namespace {

// Real-mode code loaded by SeaBIOS at 0000:7C00 (checked with
// `objdump -D -b binary -mi8086 --adjust-vma=0x7c00`).
constexpr uint8_t kCode[] = {
    0x31, 0xC0,        // 7C00 xor ax, ax
    0x8E, 0xD8,        // 7C02 mov ds, ax          ; the banner is read through DS:SI
    0xFC,              // 7C04 cld
    0xB4, 0x01,        // 7C05 mov ah, 1           ; set the cursor shape:
    0xB9, 0x00, 0x20,  // 7C07 mov cx, 0x2000      ; bit 5 of the start line hides it
    0xCD, 0x10,        // 7C0A int 0x10
    0xBE, 0x2A, 0x7C,  // 7C0C mov si, banner
    0xAC,              // 7C0F print: lodsb
    0x84, 0xC0,        // 7C10 test al, al
    0x74, 0x09,        // 7C12 jz echo
    0xB4, 0x0E,        // 7C14 mov ah, 0x0E        ; teletype output
    0xBB, 0x07, 0x00,  // 7C16 mov bx, 7           ; page 0, light grey
    0xCD, 0x10,        // 7C19 int 0x10
    0xEB, 0xF2,        // 7C1B jmp print
    0xB4, 0x00,        // 7C1D echo: mov ah, 0     ; wait for a key: AL = its character
    0xCD, 0x16,        // 7C1F int 0x16
    0xB4, 0x0E,        // 7C21 mov ah, 0x0E
    0xBB, 0x07, 0x00,  // 7C23 mov bx, 7
    0xCD, 0x10,        // 7C26 int 0x10
    0xEB, 0xF3,        // 7C28 jmp echo
};                     // 7C2A banner:
constexpr char kBanner[] = "pvebridge echo guest: each key typed shows here\r\n";  // and its NUL

}  // namespace

std::vector<uint8_t> echo_guest_boot_sector() {
  static_assert(sizeof kCode == 0x2A, "the banner's address is built into mov si");
  static_assert(sizeof kCode + sizeof kBanner <= 510);
  std::vector<uint8_t> sector(512, 0);
  std::memcpy(sector.data(), kCode, sizeof kCode);
  std::memcpy(sector.data() + sizeof kCode, kBanner, sizeof kBanner);
  sector[510] = 0x55;
  sector[511] = 0xAA;
  return sector;
}

Error write_echo_guest(const std::string& path) {
  const std::vector<uint8_t> sector = echo_guest_boot_sector();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Error(Errc::io, "cannot create the echo guest's disk " + path);
  const bool written =
      ::write(fd, sector.data(), sector.size()) == static_cast<ssize_t>(sector.size());
  ::close(fd);
  if (!written) return Error(Errc::io, "cannot write the echo guest's disk " + path);
  return Error();
}

std::string echo_guest_key(uint64_t n) {
  return std::string(1, static_cast<char>('a' + n % 26));
}

}  // namespace pvb::mock
