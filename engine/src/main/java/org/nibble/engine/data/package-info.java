/** Training data: byte-level corpora (Europarl from the class path, any text file or folder) and batch sampling. */
package org.nibble.engine.data;
