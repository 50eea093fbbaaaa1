/* A stand-in `vagrant.exe` for scripts/windows-check: it starts a copy of
 * itself (as `vagrant` starts ruby, ssh and VBoxManage) and both append a
 * line to %HANG_LOG% every 100 ms, forever. When lab stops the command
 * (its --timeout, Ctrl-C), both must stop: the log then stops growing. */
#include <windows.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    const char *log = getenv("HANG_LOG");
    const char *who = (argc > 1 && strcmp(argv[1], "child") == 0) ? "child" : "parent";
    if (strcmp(who, "parent") == 0) {
        char self[MAX_PATH], line[MAX_PATH + 16];
        STARTUPINFOA si = {sizeof si};
        PROCESS_INFORMATION pi;
        GetModuleFileNameA(NULL, self, sizeof self);
        snprintf(line, sizeof line, "\"%s\" child", self);
        if (!CreateProcessA(NULL, line, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi))
            return 3;
    }
    for (;;) {
        FILE *f = log ? fopen(log, "a") : NULL;
        if (f) {
            fprintf(f, "%s\n", who);
            fclose(f);
        }
        Sleep(100);
    }
}
