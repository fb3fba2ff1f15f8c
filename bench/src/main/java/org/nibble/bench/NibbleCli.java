package org.nibble.bench;

import org.nibble.kernels.Parallel;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** The {@code nibble} command line. Run through the {@code ./nibble} launcher, which finds a JDK 25. */
@Command(name = "nibble", mixinStandardHelpOptions = true, versionProvider = NibbleCli.Version.class,
        description = "Sub-8-bit integer training and inference of transformers on the CPU, in pure Java.",
        subcommands = {InfoCommand.class, BenchCommand.class, TrainCommand.class, GenerateCommand.class,
                EmbedCommand.class, SimilarityCommand.class,
                CommandLine.HelpCommand.class})
public final class NibbleCli implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Options every subcommand shares. */
    public static final class Common {
        @CommandLine.Spec(CommandLine.Spec.Target.MIXEE)
        CommandLine.Model.CommandSpec mixee;

        @Option(names = "--threads", paramLabel = "N",
                description = "Threads for parallel kernels (default: available processors, or -Dnibble.threads).")
        void setThreads(int n) {
            if (n < 1) {
                throw new CommandLine.ParameterException(mixee.commandLine(),
                        "--threads: expected >= 1, got " + n);
            }
            Parallel.setThreads(n);
        }
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** The command line as {@link #main} runs it: enum values (such as {@code --variant q4}) in any case. */
    public static CommandLine commandLine() {
        return new CommandLine(new NibbleCli()).setCaseInsensitiveEnumValuesAllowed(true);
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** Reads the version Maven wrote into {@code version.properties}. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() throws IOException {
            Properties p = new Properties();
            try (InputStream in = NibbleCli.class.getResourceAsStream("version.properties")) {
                if (in != null) {
                    p.load(in);
                }
            }
            return new String[]{"nibble " + p.getProperty("version", "unknown") + " (Java "
                    + Runtime.version() + ", " + System.getProperty("java.vm.name") + ")"};
        }
    }
}
