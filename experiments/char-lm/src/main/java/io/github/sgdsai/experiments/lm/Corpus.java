// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.experiments.lm;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The character-level corpus: Java source files from the running JDK's {@code lib/src.zip}, split into training and
 * held-out sets by file. Files under {@code prefix} ending in {@code .java} are sorted by path; every
 * {@code heldOutEvery}-th one (indices 0, k, 2k, …) is held out. Characters are mapped to 0–127 (ASCII); anything
 * else, rare in the JDK's sources, becomes 127.
 *
 * @param train        the training files, concatenated, as token ids
 * @param heldOut      the held-out files, concatenated
 * @param trainFiles   number of training files
 * @param heldOutFiles number of held-out files
 * @param source       where the corpus came from
 */
public record Corpus(byte[] train, byte[] heldOut, int trainFiles, int heldOutFiles, String source) {

    /** Vocabulary size: ASCII. */
    public static final int VOCAB = 128;

    /**
     * Loads the corpus from {@code jdkHome/lib/src.zip}.
     *
     * @param jdkHome      the JDK (e.g. {@code System.getProperty("java.home")})
     * @param prefix       the path prefix inside the zip, e.g. {@code java.base/java/util/}
     * @param heldOutEvery hold out every k-th file (k at least 2)
     * @return the corpus
     * @throws IllegalArgumentException if {@code src.zip} is missing or holds no such file, or k is below 2
     */
    public static Corpus load(Path jdkHome, String prefix, int heldOutEvery) {
        if (heldOutEvery < 2) {
            throw new IllegalArgumentException("heldOutEvery must be at least 2, got " + heldOutEvery);
        }
        Path zip = jdkHome.resolve("lib").resolve("src.zip");
        if (!Files.isRegularFile(zip)) {
            throw new IllegalArgumentException("corpus: " + zip + " not found (a JDK with its sources is needed)");
        }
        try (ZipFile z = new ZipFile(zip.toFile())) {
            List<String> names = new ArrayList<>();
            for (ZipEntry e : Collections.list(z.entries())) {
                if (!e.isDirectory() && e.getName().startsWith(prefix) && e.getName().endsWith(".java")) {
                    names.add(e.getName());
                }
            }
            if (names.isEmpty()) {
                throw new IllegalArgumentException("corpus: no .java file under '" + prefix + "' in " + zip);
            }
            Collections.sort(names);
            java.io.ByteArrayOutputStream train = new java.io.ByteArrayOutputStream();
            java.io.ByteArrayOutputStream held = new java.io.ByteArrayOutputStream();
            int nHeld = 0;
            for (int i = 0; i < names.size(); i++) {
                byte[] ids;
                try (InputStream in = z.getInputStream(z.getEntry(names.get(i)))) {
                    ids = encode(new String(in.readAllBytes(), StandardCharsets.UTF_8));
                }
                if (i % heldOutEvery == 0) {
                    held.writeBytes(ids);
                    nHeld++;
                } else {
                    train.writeBytes(ids);
                }
            }
            return new Corpus(train.toByteArray(), held.toByteArray(), names.size() - nHeld, nHeld,
                    zip + " " + prefix + "**.java");
        } catch (IOException e) {
            throw new UncheckedIOException("corpus: reading " + zip + " failed", e);
        }
    }

    private static byte[] encode(String text) {
        byte[] out = new byte[text.length()];
        for (int i = 0; i < out.length; i++) {
            char c = text.charAt(i);
            out[i] = (byte) (c < VOCAB ? c : VOCAB - 1);
        }
        return out;
    }
}
