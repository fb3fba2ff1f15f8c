package org.nibble.bench;

import org.nibble.models.bert.MiniLm;
import picocli.CommandLine;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;

/** Options shared by {@code nibble embed} and {@code nibble similarity}: which model files and weight format. */
final class ModelOptions {
    @Option(names = "--model", paramLabel = "FILE.onnx",
            description = "A BERT ONNX file (default: all-MiniLM-L6-v2 from the class path).")
    Path model;

    @Option(names = "--tokenizer", paramLabel = "tokenizer.json",
            description = "The model's Hugging Face tokenizer.json (required with --model).")
    Path tokenizer;

    @Option(names = "--variant", paramLabel = "V", defaultValue = "F32",
            description = "Weights: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}). ORT_INT8 reads ONNX "
                    + "Runtime's int8 file.")
    MiniLm.Variant variant;

    MiniLm load(CommandLine cmd) throws IOException {
        if (model == null) {
            if (tokenizer != null) {
                throw new CommandLine.ParameterException(cmd, "--tokenizer needs --model");
            }
            return MiniLm.load(variant);
        }
        if (tokenizer == null) {
            throw new CommandLine.ParameterException(cmd, "--model needs --tokenizer (the model's tokenizer.json)");
        }
        return MiniLm.load(model, tokenizer, variant);
    }
}
