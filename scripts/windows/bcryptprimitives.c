/* Wine 8.0 has no bcryptprimitives.dll, which every program built by Rust
 * 1.78 or later imports for ProcessPrng. This stand-in, for running lab.exe
 * under Wine in tests only, forwards it to BCryptGenRandom, which Wine has. */
#include <windows.h>
#include <bcrypt.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x7fffffff ? 0x7fffffff : (ULONG)len;
        if (BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0)
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
