/** File formats: safetensors reading and atomic writing. */
package org.nibble.engine.io;
