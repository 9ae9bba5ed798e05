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
// of one kernel position; the accumulators form R = C/G rows of G lanes and
// chunk q of a word updates row (row0 + q) mod R (several times in one word
// when SUB > R), as the HLS library's vvau.hpp. A row's last kernel position
// stores its sums in a ping-pong result buffer (one bank per pixel), drained
// PE channels per cycle while the next pixel is read: about
// NUMPIX * max(K*C/SP, C/PE) cycles per frame. Accumulators and results are
// registers (2*C + C lanes of ACC_W bits).
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
  localparam ROW_STEP = SUB % R;
  localparam KP_STEP = SUB / R;
  localparam IAW = (IN_WORDS > 1) ? $clog2(IN_WORDS) : 1;
  localparam RAW = $clog2(R + SUB + 1);
  localparam KAW = $clog2(K + SUB + 2);
  localparam TAW = (NFC > 1) ? $clog2(NFC) : 1;
  localparam LW = G * ACC_W;

  // ---------------------------------------------------------------- read side
  reg [IAW-1:0] wcnt;
  reg [RAW-1:0] row0;
  reg [KAW-1:0] kp0;
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
  reg [RAW-1:0] b_row0;
  reg [KAW-1:0] b_kp0;
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
  reg [C*ACC_W-1:0] acc, acc_n;
  reg [2*C*ACC_W-1:0] res, res_n;
  reg signed [ACC_W-1:0] s;
  reg signed [IN_BITS:0] xv;
  reg signed [W_BITS:0] wv;
  integer q, g, pos, row, kp;
  always @* begin
    acc_n = acc;
    res_n = res;
    for (q = 0; q < SUB; q = q + 1) begin
      pos = b_row0 + q;
      row = pos % R;
      kp = b_kp0 + pos / R;
      for (g = 0; g < G; g = g + 1) begin
        xv = xs[(q*G+g)*(IN_BITS+1)+:IN_BITS+1];
        wv = ws[(q*G+g)*(W_BITS+1)+:W_BITS+1];
        s = (kp == 0) ? 0 : acc_n[(row*G+g)*ACC_W+:ACC_W];
        s = s + xv * wv;
        if (kp == K - 1) res_n[((b_bank ? C : 0) + row * G + g)*ACC_W+:ACC_W] = s;
        else acc_n[(row*G+g)*ACC_W+:ACC_W] = s;
      end
    end
  end

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
      row0 <= 0;
      kp0 <= 0;
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
        b_row0 <= row0;
        b_kp0 <= kp0;
        b_end <= pixel_end;
        b_bank <= wbank;
        if (pixel_end) begin
          wcnt <= 0;
          row0 <= 0;
          kp0 <= 0;
          wbank <= ~wbank;
        end else begin
          wcnt <= wcnt + 1'b1;
          if (row0 + ROW_STEP >= R) begin
            row0 <= row0 + ROW_STEP - R;
            kp0  <= kp0 + KP_STEP + 1;
          end else begin
            row0 <= row0 + ROW_STEP;
            kp0  <= kp0 + KP_STEP;
          end
        end
      end
      if (b_valid) begin
        acc <= acc_n;
        res <= res_n;
      end
      busy <= busy + ((in_fire && start) ? 2'd1 : 2'd0) - (drain_end ? 2'd1 : 2'd0);
      done <= done + ((b_valid && b_end) ? 2'd1 : 2'd0) - (drain_end ? 2'd1 : 2'd0);
      // drain side: stalls with the output
      if (en) begin
        d_valid <= can_drain;
        lanes <= res[((dbank ? C : 0) + nfc * PE)*ACC_W+:PE*ACC_W];
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
