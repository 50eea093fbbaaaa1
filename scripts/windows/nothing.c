/* A stand-in program for scripts/windows-check: answers nothing, exits 0.
 * It stands for ssh, docker and docker-machine where lab only needs them
 * to be on PATH. */
int main(void) { return 0; }
