// qnncc RTL library: vector-vector-activation unit (VVAU), the MAC of a depthwise convolution.
//
// Per output pixel it reads the K kernel positions x C channels of a window
// in Im2Col order (flat index f = k*C + c), SP = SIMD*PE elements per word
// (K*C/SP words), computes acc[c] = sum_k x[k][c] * W[k][c] and writes C/PE
// words of PE activated outputs (channel nf*PE + p in lane p).
// Weight ROM (W_FILE): word i, lane e holds the weight of f = i*SP + e.
// Threshold ROM (T_FILE): word nf holds thresholds (p, k) of channel nf*PE + p.
//
// With G = gcd(SP, C) a word is SUB = SP/G chunks of G consecutive channels
// of one kernel position (chunk q of word w: channel row (w*SUB + q) mod R of
// R = C/G rows), as the HLS library's vvau.hpp. Every index is static: the
// accumulators are a ring of R rows that rotates by SUB mod R rows after each
// word, so chunk q always updates ring slot q mod R (slots hit twice in one
// word, when SUB > R, chain their adds) and starts from zero when its flat
// index is below C (kernel position 0). A pixel is K*R rows, so after its
// last word the ring is back in channel order and is copied whole into one
// bank of a ping-pong result buffer, drained PE channels per cycle while the
// next pixel is read: about NUMPIX * max(K*C/SP, C/PE) cycles per frame.
// Accumulators and results are registers (C + 2*C lanes of ACC_W bits).
module qnncc_vvau #(
    parameter C = 1,
    parameter K = 1,
    parameter SIMD = 1,
    parameter PE = 1,
    parameter G = 1,
    parameter IN_BITS = 1,
    parameter IN_SIGNED = 0,
    parameter IN_BIPOLAR = 0,
    parameter W_BITS = 1,
    parameter W_SIGNED = 0,
    parameter W_BIPOLAR = 0,
    parameter ACC_W = 16,
    parameter OUT_BITS = 1,
    parameter HAS_ACT = 1,
    parameter STEPS = 1,
    parameter T_W = 8,
    parameter ACT_VAL = 0,
    parameter BIPOLAR_OUT = 0,
    parameter W_FILE = "",
    parameter T_FILE = "",
    parameter RAM_STYLE = "auto",
    parameter T_RAM_STYLE = "distributed"
) (
    input wire clk,
    input wire rst_n,
    input wire [SIMD*PE*IN_BITS-1:0] in_data,
    input wire in_valid,
    output wire in_ready,
    output reg [PE*OUT_BITS-1:0] out_data,
    output reg out_valid,
    input wire out_ready
);
  localparam SP = SIMD * PE;
  localparam R = C / G;
  localparam SUB = SP / G;
  localparam IN_WORDS = K * C / SP;
  localparam NFC = C / PE;
  localparam ROT = (SUB % R) * G;  // lanes the ring turns by per word
  localparam IAW = (IN_WORDS > 1) ? $clog2(IN_WORDS) : 1;
  localparam FW = $clog2(K * C + 1);
  localparam TAW = (NFC > 1) ? $clog2(NFC) : 1;
  localparam PW = IN_BITS + W_BITS + 2;

  // ---------------------------------------------------------------- read side
  reg [IAW-1:0] wcnt;
  reg [FW-1:0] fbase;  // flat index of the word's first element (wcnt * SP)
  reg wbank;
  reg [1:0] busy, done;
  wire start = (wcnt == 0);
  wire can_read = !start || (busy < 2);
  assign in_ready = can_read;
  wire in_fire = in_valid && can_read;
  wire pixel_end = (wcnt == IN_WORDS - 1);
  wire [SP*W_BITS-1:0] w_q;
  qnncc_rom #(
      .WIDTH(SP * W_BITS),
      .DEPTH(IN_WORDS),
      .AW(IAW),
      .INIT_FILE(W_FILE),
      .RAM_STYLE(RAM_STYLE)
  ) weights (
      .clk(clk),
      .en(1'b1),
      .addr(wcnt),
      .q(w_q)
  );
  reg b_valid, b_end, b_bank;
  reg [FW-1:0] b_fb;
  reg [SP*IN_BITS-1:0] b_x;
  wire [SP*(IN_BITS+1)-1:0] xs;
  wire [SP*(W_BITS+1)-1:0] ws;
  qnncc_decode #(
      .N(SP),
      .BITS(IN_BITS),
      .SIGNED(IN_SIGNED),
      .BIPOLAR(IN_BIPOLAR)
  ) dec_x (
      .x(b_x),
      .y(xs)
  );
  qnncc_decode #(
      .N(SP),
      .BITS(W_BITS),
      .SIGNED(W_SIGNED),
      .BIPOLAR(W_BIPOLAR)
  ) dec_w (
      .x(w_q),
      .y(ws)
  );
  reg [C*ACC_W-1:0] acc;  // ring: slot j holds channel row (row of chunk 0 + j) mod R
  wire [C*ACC_W-1:0] acc_n;  // after this word's chunks
  wire [C*ACC_W-1:0] acc_r;  // acc_n turned for the next word
  reg [C*ACC_W-1:0] res0, res1;
  genvar q, j, g, t;
  generate
    for (j = 0; j < R; j = j + 1) begin : g_row
      localparam NCH = (SUB > j) ? (SUB - j + R - 1) / R : 0;  // chunks j, j+R, ... below SUB
      for (g = 0; g < G; g = g + 1) begin : g_lane
        wire [(NCH+1)*ACC_W-1:0] chain;
        assign chain[ACC_W-1:0] = acc[(j*G+g)*ACC_W+:ACC_W];
        for (t = 0; t < NCH; t = t + 1) begin : g_chunk
          localparam integer E = (j + t * R) * G + g;  // element of the word
          wire signed [IN_BITS:0] xv = xs[E*(IN_BITS+1)+:IN_BITS+1];
          wire signed [W_BITS:0] wv = ws[E*(W_BITS+1)+:W_BITS+1];
          wire signed [PW-1:0] prod = xv * wv;
          wire first;  // kernel position 0: flat index b_fb + (j + t*R)*G below C
          if ((j + t * R) * G < C) begin : g_first
            assign first = (b_fb < C - (j + t * R) * G);
          end else begin : g_later
            assign first = 1'b0;
          end
          wire signed [ACC_W-1:0] base = first ? {ACC_W{1'b0}} : chain[t*ACC_W+:ACC_W];
          wire signed [ACC_W-1:0] sum = base + prod;
          assign chain[(t+1)*ACC_W+:ACC_W] = sum;
        end
        assign acc_n[(j*G+g)*ACC_W+:ACC_W] = chain[NCH*ACC_W+:ACC_W];
      end
    end
    for (q = 0; q < C; q = q + 1) begin : g_turn
      assign acc_r[q*ACC_W+:ACC_W] = acc_n[((q+ROT)%C)*ACC_W+:ACC_W];
    end
  endgenerate

  // ---------------------------------------------------------------- drain side
  wire en = !out_valid || out_ready;
  reg [TAW-1:0] nfc;
  reg dbank;
  wire can_drain = (done != 0);
  wire drain_end = can_drain && en && (nfc == NFC - 1);
  wire [PE*STEPS*T_W-1:0] t_q;
  generate
    if (HAS_ACT != 0) begin : g_thr
      qnncc_rom #(
          .WIDTH(PE * STEPS * T_W),
          .DEPTH(NFC),
          .AW(TAW),
          .INIT_FILE(T_FILE),
          .RAM_STYLE(T_RAM_STYLE)
      ) thresholds (
          .clk(clk),
          .en(en),
          .addr(nfc),
          .q(t_q)
      );
    end else begin : g_nothr
      assign t_q = {PE * STEPS * T_W{1'b0}};
    end
  endgenerate
  reg d_valid;
  reg [PE*ACC_W-1:0] lanes;
  wire [PE*OUT_BITS-1:0] y;
  generate
    if (HAS_ACT != 0) begin : g_act
      qnncc_act #(
          .PE(PE),
          .STEPS(STEPS),
          .IN_W(ACC_W),
          .T_W(T_W),
          .OUT_BITS(OUT_BITS),
          .ACT_VAL(ACT_VAL),
          .BIPOLAR_OUT(BIPOLAR_OUT)
      ) act (
          .x(lanes),
          .thr(t_q),
          .y(y)
      );
    end else begin : g_noact
      genvar p;
      for (p = 0; p < PE; p = p + 1) begin : g_lane
        wire signed [ACC_W-1:0] a = lanes[p*ACC_W+:ACC_W];
        wire signed [OUT_BITS+ACC_W-1:0] wide = a;
        assign y[p*OUT_BITS+:OUT_BITS] = wide[OUT_BITS-1:0];
      end
    end
  endgenerate

  always @(posedge clk) begin
    if (!rst_n) begin
      wcnt <= 0;
      fbase <= 0;
      wbank <= 1'b0;
      busy <= 0;
      done <= 0;
      b_valid <= 1'b0;
      nfc <= 0;
      dbank <= 1'b0;
      d_valid <= 1'b0;
      out_valid <= 1'b0;
    end else begin
      // read side: never stalled by the output
      b_valid <= in_fire;
      if (in_fire) begin
        b_x <= in_data;
        b_fb <= fbase;
        b_end <= pixel_end;
        b_bank <= wbank;
        if (pixel_end) begin
          wcnt  <= 0;
          fbase <= 0;
          wbank <= ~wbank;
        end else begin
          wcnt  <= wcnt + 1'b1;
          fbase <= fbase + SP;
        end
      end
      if (b_valid) acc <= acc_r;
      if (b_valid && b_end && !b_bank) res0 <= acc_r;
      if (b_valid && b_end && b_bank) res1 <= acc_r;
      busy <= busy + ((in_fire && start) ? 2'd1 : 2'd0) - (drain_end ? 2'd1 : 2'd0);
      done <= done + ((b_valid && b_end) ? 2'd1 : 2'd0) - (drain_end ? 2'd1 : 2'd0);
      // drain side: stalls with the output
      if (en) begin
        d_valid <= can_drain;
        lanes <= dbank ? res1[nfc*PE*ACC_W+:PE*ACC_W] : res0[nfc*PE*ACC_W+:PE*ACC_W];
        if (can_drain) begin
          if (nfc == NFC - 1) begin
            nfc   <= 0;
            dbank <= ~dbank;
          end else nfc <= nfc + 1'b1;
        end
        out_valid <= d_valid;
        if (d_valid) out_data <= y;
      end
    end
  end
endmodule
