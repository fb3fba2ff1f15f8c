package org.nibble.bench;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code nibble info}: the JDK, vector species, CPU features, threads and memory limits. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Print the JDK, Vector API species and lanes, CPU SIMD features, threads and memory limits.")
final class InfoCommand implements Runnable {
    @Mixin
    NibbleCli.Common common;

    @Override
    public void run() {
        System.out.print(SystemInfo.format());
    }
}
